# ruff: noqa: E501  (phrase banks: one message a line reads best)
"""The phrase banks of evals/datasets/honest-multilingual.jsonl (see tools/honest_corpus.py).

Each language has its items (name, price), first names, and conversation templates:
lists of "B:" (buyer) or "S:" (seller) lines with {item}, {price}, {name}, {day},
{time}, {post} (postage), {track} (a tracking number) and {url} to fill. Everyday
Unicode is written into the templates where people write it: right-to-left marks in
Hebrew and Arabic, soft hyphens in German, emoji, flags, keycaps, a byte order mark at
the start of a pasted message, a zero-width space after pasted text.
"""

from __future__ import annotations

SHY = "\u00ad"
RLM = "\u200f"
ZWSP = "\u200b"
BOM = "\ufeff"
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
KEYCAPS = "1\ufe0f\u20e3 2\ufe0f\u20e3 3\ufe0f\u20e3"
BANG = "\u203c\ufe0f"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"

LANGUAGES: dict[str, dict[str, list]] = {
    "fr": {
        "items": [
            ("vélo de ville", "180 €"),
            ("canapé trois places", "250 €"),
            ("fauteuil en velours", "140 €"),
            ("four micro-ondes", "60 €"),
            ("lot de livres de poche", "15 €"),
            ("bureau en chêne", "90 €"),
        ],
        "names": ["Camille", "Julien", "Élodie", "Mathieu", "Inès"],
        "post": ["4,99 €", "6,50 €", "3,95 €"],
        "templates": [
            [
                "B:Bonjour, le {item} est-il toujours disponible ?",
                "S:Bonjour, oui il l'est. Vous pouvez passer le voir {day} si vous voulez.",
                "B:Parfait, {day} vers {time} ça me va. Vous êtes où exactement ?",
                "S:Près de la gare, je vous envoie l'adresse exacte la veille. À {day} !",
            ],
            [
                "B:Bonsoir, je suis intéressée par le {item}. Vous feriez un petit geste sur le prix ?",
                "S:Je peux descendre un peu, disons 10 € de moins que {price}.",
                "B:D'accord, marché conclu. Je paie par le site avec la protection acheteur ?",
                "S:Oui, c'est le plus simple pour nous deux. Merci {name} 🙂",
            ],
            [
                "B:Bonjour, vous pouvez envoyer le {item} ? J'habite à Lyon.",
                "S:Oui, envoi en Colissimo, les frais de port sont de {post}.",
                "B:Très bien, je viens de payer sur la plateforme, frais de port compris.",
                "S:Colis déposé ce matin, numéro de suivi {track}. Bonne réception !",
                "B:Reçu, tout est nickel, merci beaucoup !",
            ],
            [
                "B:Bonjour, pour la location de l'appartement, j'ai bien reçu le remboursement du dépôt de garantie.",
                "S:Parfait, l'état des lieux était impeccable, c'était normal de tout rendre.",
                "B:Merci encore, et bonne continuation avec les nouveaux locataires.",
            ],
            [
                "S:Bonjour {name}, l'acompte de la réservation est bien passé par la plateforme, je le vois dans la commande.",
                "B:Super, je viendrai récupérer le {item} {day}.",
                "S:Pas de souci, le reste se règle aussi sur le site à la remise.",
            ],
            [
                "B:Est-ce que le {item} a des défauts ? Sur la photo on voit une petite tache.",
                "S:Juste une petite rayure sur le côté, sinon il est en très bon état.",
                "B:Ok ça me convient. Je le prends à {price}.",
                "S:Je vous le réserve jusqu'à {day}.",
            ],
        ],
    },
    "de": {
        "items": [
            ("Fahrrad", "220 €"),
            ("Kinderbett", "150 €"),
            ("Sofa", "120 €"),
            ("E-Piano", "130 €"),
            ("Laufrad", "45 €"),
            ("Bücherregal", "35 €"),
        ],
        "names": ["Lukas", "Anna", "Jürgen", "Sophie", "Maximilian"],
        "post": ["4,99 €", "5,49 €", "6,99 €"],
        "templates": [
            [
                "B:Hallo, ist das {item} noch zu haben?",
                "S:Hallo, ja, ist noch da. Sie können es sich gerne {day} anschauen.",
                "B:Super, passt {day} um {time}?",
                "S:Ja, das passt. Ich schicke Ihnen die Adresse per Nachricht hier.",
            ],
            [
                "B:Guten Tag, wären Sie mit 10 € weniger einverstanden?",
                "S:Ein bisschen kann ich runtergehen, sagen wir {price} minus 10 €.",
                "B:Einverstanden. Ich bezahle über die Plattform mit Käufer­schutz.",
                "S:Gerne, dann schicke ich Ihnen ein angepasstes Angebot. Danke {name}!",
            ],
            [
                f"B:Hallo, versenden Sie auch? Wie hoch sind die Ver{SHY}sand{SHY}kos{SHY}ten?",
                "S:Ja, mit DHL, der Versand kostet {post}.",
                "B:Prima, ich habe gerade über die App bezahlt.",
                "S:Paket ist unterwegs, Sendungs­nummer {track}. Viele Grüße",
                "B:Ist angekommen, alles bestens, danke!",
            ],
            [
                "B:Hallo, ich wollte nur Bescheid geben: die Kaution für die Wohnung ist heute zurück­überwiesen worden.",
                "S:Sehr gut, die Übergabe war ja auch einwandfrei.",
                "B:Danke für alles und viel Erfolg mit den neuen Mietern!",
            ],
            [
                "S:Hallo {name}, die Anzahlung für die Reservierung ist über die Plattform eingegangen.",
                "B:Danke! Dann hole ich das {item} {day} ab.",
                f"S:Alles klar. Bitte vorher kurz Bescheid geben, ich bin ab {{time}} zu Hause.{ZWSP}",
            ],
            [
                f"B:Hat das {{item}} Gebrauchs{SHY}spuren? Auf dem Foto sieht man einen kleinen Kratzer.",
                "S:Nur einen kleinen Kratzer an der Seite, sonst ist alles in Ordnung.",
                "B:Okay, dann nehme ich es für {price}.",
                "S:Ich reserviere es Ihnen bis {day}.",
            ],
        ],
    },
    "es": {
        "items": [
            ("bicicleta de montaña", "200 €"),
            ("silla de oficina", "50 €"),
            ("lámpara de pie", "30 €"),
            ("cafetera italiana", "25 €"),
            ("mesa de escritorio", "60 €"),
            ("guitarra española", "90 €"),
        ],
        "names": ["Lucía", "Javier", "María", "Álvaro", "Carmen"],
        "post": ["3,95 €", "4,50 €", "5,99 €"],
        "templates": [
            [
                "B:Hola, ¿sigue disponible la {item}?",
                "S:Hola, sí. Puedes venir a verla el {day} si te viene bien.",
                "B:Perfecto, ¿a las {time}?",
                "S:Genial, te mando la dirección por aquí. ¡Hasta el {day}!",
            ],
            [
                "B:Buenas, ¿me la dejarías en algo menos de {price}?",
                "S:Te puedo rebajar 10 € como mucho.",
                "B:Vale, trato hecho. Pago por la app con la protección al comprador.",
                "S:Perfecto, gracias {name} 😊",
            ],
            [
                "B:Hola, ¿haces envíos a Sevilla?",
                "S:Sí, por Correos, el envío cuesta {post}.",
                "B:Estupendo, ya he pagado en la plataforma con el envío incluido.",
                "S:Enviado esta mañana, el número de seguimiento es {track}.",
                "B:¡Recibido y en perfecto estado, gracias!",
            ],
            [
                "B:Hola, te escribo para decirte que ya me ha llegado la devolución de la fianza del piso.",
                "S:Me alegro, el piso quedó impecable, era lo justo.",
                "B:Muchas gracias por todo, ¡un saludo!",
            ],
            [
                "S:Hola {name}, ya veo la señal de la reserva pagada a través de la plataforma.",
                "B:¡Genial! Paso a recoger la {item} el {day}.",
                "S:Muy bien, el resto también se paga por la app cuando vengas.",
            ],
            [
                "B:¿La {item} tiene algún desperfecto?",
                "S:Un pequeño arañazo en un lado, por lo demás está como nueva.",
                "B:Vale, me la quedo por {price}.",
                "S:Te la reservo hasta el {day}.",
            ],
        ],
    },
    "it": {
        "items": [
            ("bicicletta da corsa", "300 €"),
            ("scrivania", "80 €"),
            ("lampada da terra", "35 €"),
            ("macchina da caffè", "50 €"),
            ("libreria bianca", "40 €"),
            ("giacca in pelle", "70 €"),
        ],
        "names": ["Giulia", "Marco", "Francesca", "Luca", "Chiara"],
        "post": ["5,90 €", "6,50 €", "4,99 €"],
        "templates": [
            [
                "B:Ciao, la {item} è ancora disponibile?",
                "S:Ciao, sì. Puoi passare a vederla {day} se vuoi.",
                "B:Perfetto, {day} alle {time} va bene?",
                "S:Va benissimo, ti mando l'indirizzo qui in chat.",
            ],
            [
                "B:Buongiorno, faresti un piccolo sconto sui {price}?",
                "S:Posso scendere di 10 €, non di più.",
                "B:Affare fatto, pago tramite la piattaforma con la protezione acquisti.",
                "S:Perfetto, grazie {name}!",
            ],
            [
                "B:Ciao, spedisci anche? Sono a Torino.",
                "S:Sì, con Poste Italiane, la spedizione costa {post}.",
                "B:Ottimo, ho appena pagato sull'app, spedizione compresa.",
                "S:Pacco spedito stamattina, codice di tracciamento {track}.",
                "B:Arrivato tutto perfetto, grazie mille!",
            ],
            [
                "B:Ciao, volevo dirti che mi è arrivata la restituzione del deposito cauzionale dell'appartamento.",
                "S:Bene, l'appartamento era in ordine, era giusto così.",
                "B:Grazie di tutto e buona giornata!",
            ],
            [
                "S:Ciao {name}, vedo la caparra della prenotazione pagata tramite la piattaforma.",
                "B:Benissimo, passo a ritirare la {item} {day}.",
                "S:Ok, il saldo lo paghi sempre sull'app al ritiro.",
            ],
            [
                "B:La {item} ha difetti? Nella foto si vede un segno.",
                "S:Solo un piccolo graffio su un lato, per il resto è come nuova.",
                "B:Va bene, la prendo a {price}.",
                "S:Te la tengo fino a {day}.",
            ],
        ],
    },
    "pl": {
        "items": [
            ("rower miejski", "650 zł"),
            ("wózek dziecięcy", "400 zł"),
            ("fotel", "150 zł"),
            ("ekspres do kawy", "200 zł"),
            ("odkurzacz", "120 zł"),
            ("regał na książki", "90 zł"),
        ],
        "names": ["Kasia", "Tomasz", "Agnieszka", "Piotr", "Małgorzata"],
        "post": ["12,99 zł", "15 zł", "9,99 zł"],
        "templates": [
            [
                "B:Dzień dobry, czy {item} jest jeszcze dostępny?",
                "S:Dzień dobry, tak. Można go obejrzeć w {day}.",
                "B:Świetnie, pasuje mi {day} o {time}.",
                "S:Dobrze, adres wyślę tutaj w wiadomości.",
            ],
            [
                "B:Cześć, czy cena {price} jest do negocjacji?",
                "S:Mogę zejść o 20 zł.",
                "B:Ok, biorę. Zapłacę przez serwis z ochroną kupującego.",
                "S:Super, dziękuję {name}!",
            ],
            [
                "B:Witam, czy wysyłka jest możliwa? Mieszkam w Gdańsku.",
                "S:Tak, paczkomatem InPost, koszt wysyłki to {post}.",
                "B:Zapłaciłem przez aplikację razem z wysyłką.",
                "S:Paczka nadana, numer śledzenia {track}.",
                "B:Doszło, wszystko w porządku, dzięki!",
            ],
            [
                "B:Dzień dobry, chciałam potwierdzić, że kaucja za mieszkanie wróciła na moje konto.",
                "S:Cieszę się, mieszkanie było zostawione w idealnym stanie.",
                "B:Dziękuję za wszystko, pozdrawiam!",
            ],
            [
                "S:Cześć {name}, widzę zaliczkę za rezerwację opłaconą przez platformę.",
                "B:Super, odbiorę {item} w {day}.",
                "S:Jasne, resztę też zapłacisz w aplikacji przy odbiorze.",
            ],
        ],
    },
    "tr": {
        "items": [
            ("bisiklet", "3.500 TL"),
            ("bebek arabası", "2.000 TL"),
            ("çalışma masası", "900 TL"),
            ("kahve makinesi", "1.200 TL"),
            ("kışlık mont", "600 TL"),
            ("kitaplık", "750 TL"),
        ],
        "names": ["Ayşe", "Mehmet", "Zeynep", "Emre", "Elif"],
        "post": ["80 TL", "95 TL", "70 TL"],
        "templates": [
            [
                "B:Merhaba, {item} hâlâ satılık mı?",
                "S:Merhaba, evet. {day} gelip bakabilirsiniz.",
                "B:Harika, {day} saat {time} uygun mu?",
                "S:Uygun, adresi buradan mesajla gönderirim.",
            ],
            [
                "B:Merhaba, {price} fiyatta biraz indirim olur mu?",
                "S:100 TL indirim yapabilirim.",
                "B:Tamam, anlaştık. Ödemeyi uygulama üzerinden alıcı korumasıyla yapıyorum.",
                "S:Çok iyi, teşekkürler {name}!",
            ],
            [
                "B:Kargo ile gönderiyor musunuz? İzmir'deyim.",
                "S:Evet, kargo ücreti {post}.",
                "B:Uygulamadan kargo dahil ödedim.",
                "S:Kargoya verdim, takip numarası {track}.",
                "B:Geldi, her şey yolunda, teşekkürler!",
            ],
            [
                "B:Merhaba, evin depozitosu bugün hesabıma iade edildi, haber vermek istedim.",
                "S:Çok güzel, ev tertemiz teslim edilmişti zaten.",
                "B:Her şey için teşekkürler, iyi günler!",
            ],
            [
                "S:Merhaba {name}, rezervasyon kaporası platform üzerinden ödenmiş görünüyor.",
                "B:Süper, {item} için {day} gelirim.",
                "S:Tamam, kalanını da teslimde uygulamadan ödersiniz.",
            ],
        ],
    },
    "ru": {
        "items": [
            ("велосипед", "15 000 ₽"),
            ("детская коляска", "9 000 ₽"),
            ("письменный стол", "4 500 ₽"),
            ("кофемашина", "7 000 ₽"),
            ("зимняя куртка", "3 000 ₽"),
            ("книжный шкаф", "2 500 ₽"),
        ],
        "names": ["Сергей", "Ольга", "Наташа", "Дмитрий", "Ирина"],
        "post": ["350 ₽", "420 ₽", "299 ₽"],
        "templates": [
            [
                "B:Здравствуйте, {item} ещё продаётся?",
                "S:Здравствуйте, да. Можете посмотреть в {day}.",
                "B:Отлично, в {day} в {time} удобно?",
                "S:Да, удобно. Адрес пришлю здесь в сообщениях.",
            ],
            [
                "B:Добрый день, можно немного уступить от {price}?",
                "S:Могу скинуть 500 ₽.",
                "B:Договорились. Оплачу через сайт с защитой покупателя.",
                "S:Хорошо, спасибо, {name}!",
            ],
            [
                "B:Отправляете почтой? Я в Казани.",
                "S:Да, доставка стоит {post}.",
                "B:Оплатил в приложении вместе с доставкой.",
                "S:Отправил, трек-номер {track}.",
                "B:Получил, всё в порядке, спасибо!",
            ],
            [
                "B:Добрый день, залог за квартиру сегодня вернули, всё пришло.",
                "S:Рад, квартира была сдана в отличном состоянии.",
                "B:Спасибо за всё, всего доброго!",
            ],
            [
                "S:{name}, вижу предоплату за бронь через платформу.",
                "B:Отлично, заберу {item} в {day}.",
                "S:Хорошо, остаток тоже оплатите в приложении при получении.",
            ],
        ],
    },
    "el": {
        "items": [
            ("ποδήλατο", "180 €"),
            ("καρότσι μωρού", "120 €"),
            ("γραφείο", "60 €"),
            ("τραπέζι", "40 €"),
            ("ψυγείο", "150 €"),
            ("κρεβάτι", "90 €"),
        ],
        "names": ["Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Κώστας"],
        "post": ["3,50 €", "4,90 €", "5,00 €"],
        "templates": [
            [
                "B:Γεια σας, είναι ακόμα διαθέσιμο το {item};",
                "S:Γεια σας, ναι. Μπορείτε να έρθετε να το δείτε την {day}.",
                "B:Τέλεια, την {day} στις {time} σας βολεύει;",
                "S:Μια χαρά, θα σας στείλω τη διεύθυνση εδώ.",
            ],
            [
                "B:Καλησπέρα, γίνεται λίγο κάτω από {price};",
                "S:Μπορώ να κατέβω 10 €.",
                "B:Εντάξει, συμφωνούμε. Πληρώνω μέσω της πλατφόρμας με προστασία αγοραστή.",
                "S:Τέλεια, ευχαριστώ {name}!",
            ],
            [
                "B:Στέλνετε με courier; Είμαι στη Θεσσαλονίκη.",
                "S:Ναι, τα μεταφορικά είναι {post}.",
                "B:Πλήρωσα από την εφαρμογή μαζί με τα μεταφορικά.",
                "S:Στάλθηκε, αριθμός αποστολής {track}.",
                "B:Το παρέλαβα, όλα εντάξει, ευχαριστώ!",
            ],
            [
                "B:Καλημέρα, η εγγύηση του διαμερίσματος επιστράφηκε σήμερα στον λογαριασμό μου.",
                "S:Χαίρομαι, το διαμέρισμα παραδόθηκε σε άριστη κατάσταση.",
                "B:Ευχαριστώ για όλα, καλή συνέχεια!",
            ],
            [
                "S:{name}, βλέπω την προκαταβολή της κράτησης πληρωμένη μέσω της πλατφόρμας.",
                "B:Τέλεια, θα παραλάβω το {item} την {day}.",
                "S:Εντάξει, το υπόλοιπο πληρώνεται κι αυτό στην εφαρμογή.",
            ],
        ],
    },
    "ar": {
        "items": [
            ("دراجة هوائية", "600 درهم"),
            ("عربة أطفال", "450 درهم"),
            ("مكتب خشبي", "300 درهم"),
            ("آلة قهوة", "250 درهم"),
            ("iPhone 12", "1500 درهم"),
            ("خزانة كتب", "200 درهم"),
        ],
        "names": ["أحمد", "فاطمة", "يوسف", "مريم", "خالد"],
        "post": ["25 درهم", "30 درهم", "20 درهم"],
        "templates": [
            [
                "B:السلام عليكم، هل {item} ما زال متوفرا؟",
                "S:وعليكم السلام، نعم متوفر. يمكنك المرور لرؤيته يوم {day}.",
                f"B:ممتاز، يوم {{day}} الساعة {{time}}{RLM} مناسب؟",
                "S:مناسب، سأرسل لك العنوان هنا في المحادثة.",
            ],
            [
                f"B:مرحبا، هل يمكن تخفيض السعر قليلا عن {{price}}{RLM}؟",
                "S:أستطيع أن أنقص 50 درهم.",
                "B:اتفقنا، سأدفع عبر المنصة مع حماية المشتري.",
                "S:ممتاز، شكرا {name}!",
            ],
            [
                "B:هل تقوم بالشحن؟ أنا في الرباط.",
                f"S:نعم، تكلفة الشحن {{post}}{RLM}.",
                "B:دفعت عبر التطبيق مع الشحن.",
                f"S:تم الإرسال، رقم التتبع {{track}}{RLM}.",
                "B:وصل الطرد، كل شيء ممتاز، شكرا!",
            ],
            [
                "B:مرحبا، أردت إخبارك أن مبلغ التأمين الخاص بالشقة أعيد إلى حسابي اليوم.",
                "S:رائع، الشقة سلمت في حالة ممتازة.",
                "B:شكرا على كل شيء!",
            ],
        ],
    },
    "he": {
        "items": [
            ("אופניים", "800 ₪"),
            ("עגלת תינוק", "600 ₪"),
            ("שולחן כתיבה", "350 ₪"),
            ("מכונת קפה", "400 ₪"),
            ("iPad Air", "1,200 ₪"),
            ("ספרייה", "250 ₪"),
        ],
        "names": ["נועה", "יוסי", "מיכל", "אורי", "תמר"],
        "post": ["25 ₪", "30 ₪", "35 ₪"],
        "templates": [
            [
                "B:היי, ה{item} עדיין זמין?",
                "S:היי, כן. אפשר לבוא לראות ביום {day}.",
                f"B:מעולה, ביום {{day}} ב-{{time}}{RLM} מתאים?",
                "S:מתאים, אשלח לך את הכתובת כאן בצ'אט.",
            ],
            [
                f"B:שלום, אפשר קצת פחות מ-{{price}}{RLM}?",
                "S:אני יכול להוריד 50 ₪.",
                "B:סגרנו. אשלם דרך האתר עם הגנת הקונה.",
                "S:מצוין, תודה {name}!",
            ],
            [
                "B:אתה שולח בדואר? אני בחיפה.",
                f"S:כן, המשלוח עולה {{post}}{RLM}.",
                "B:שילמתי באפליקציה כולל משלוח.",
                f"S:נשלח, מספר מעקב {{track}}{RLM}.",
                "B:הגיע, הכל תקין, תודה רבה!",
            ],
            [
                "B:היי, רציתי לעדכן שהפיקדון על הדירה הוחזר לי היום לחשבון.",
                "S:יופי, הדירה הוחזרה במצב מצוין.",
                "B:תודה על הכל!",
            ],
        ],
    },
    "en": {
        "items": [
            ("road bike", "£180"),
            ("pram", "£120"),
            ("oak dining table", "£150"),
            ("coffee machine", "£45"),
            ("winter coat, size M", "£35"),
            ("bookcase", "£30"),
            ("Lego set 10295", "€70"),
            ("PS5 controller", "£40"),
        ],
        "names": ["Сара", "Дмитрий", "Γιώργος", "Ольга", "Priya", "Tom", "Siobhan", "Ελένη"],
        "post": ["£3.49", "£2.85", "€4.50", "£4.99", "€3.90"],
        "templates": [
            [
                "B:Hi {name}, is the {item} still available? 🙂",
                "S:Hi! Yes it is 👍 You can come and see it {day}.",
                "B:Great, {day} at {time} works for me.",
                "S:Perfect, I'll send the address here the evening before.",
            ],
            [
                "B:Hello, would you take a bit less than {price}?",
                "S:I can do £10 off, that's my lowest.",
                "B:Deal 🤝 I'll pay through the app with buyer protection.",
                "S:Brilliant, thanks {name}!",
            ],
            [
                "B:Could you post it? I'm in Glasgow " + SCOTLAND,
                "S:Sure, Royal Mail tracked is {post} postage.",
                "B:Lovely, just paid on the site, postage included.",
                f"S:Posted this morning, tracking number {{track}}{ZWSP}",
                "B:Arrived today, all perfect, thanks! "
                + ENGLAND
                + " to "
                + SCOTLAND
                + " in a day",
            ],
            [
                "B:Hi, just to say my rental deposit came back today, thanks for sorting it so quickly.",
                "S:No problem, the flat was spotless, you got the full deposit back.",
                "B:Thanks again " + FAMILY + " we loved living there ❤️",
            ],
            [
                "S:Hi {name}, I can see your holding deposit was paid through the platform, it's on the order page.",
                "B:Great, I'll collect the {item} on {day}.",
                "S:See you then, the rest is paid through the app at collection too.",
            ],
            [
                BOM
                + "B:Hi, three questions: "
                + KEYCAPS
                + " does it come with the box, any scratches, and can I collect?",
                "S:Yes to the box, no scratches, and collection is fine " + BANG,
                "B:Amazing, I'll take it for {price}.",
                "S:Reserved for you until {day}.",
            ],
            [
                "B:Hi, can you ship to France 🇫🇷? What would postage be?",
                "S:Yes, international tracked is {post}, it's in the listing: {url}",
                "B:Perfect, paid through checkout just now.",
                "S:Sent, tracking {track}, usually 3-5 days 📦",
            ],
            [
                "B:Is the {item} from a smoke-free home?",
                "S:Yes, smoke and pet free. My friend Дмитрий can show it if I'm at work.",
                "B:Ok great, I'll message when I'm on my way {day}.",
                "S:Sounds good 👍",
            ],
        ],
    },
}

DAYS = {
    "fr": ["samedi", "dimanche", "mercredi"],
    "de": ["Samstag", "Sonntag", "Mittwoch"],
    "es": ["sábado", "domingo", "miércoles"],
    "it": ["sabato", "domenica", "mercoledì"],
    "pl": ["sobotę", "niedzielę", "środę"],
    "tr": ["cumartesi", "pazar", "çarşamba"],
    "ru": ["субботу", "воскресенье", "среду"],
    "el": ["Παρασκευή", "Κυριακή", "Τετάρτη"],
    "ar": ["السبت", "الأحد", "الأربعاء"],
    "he": ["שבת", "ראשון", "רביעי"],
    "en": ["Saturday", "Sunday", "Wednesday"],
}
TIMES = ["10:00", "14:30", "18:00", "11:15"]
TRACKING = [
    "AB123456785GB",
    "JD014600003828374567",
    "00340434161094042557",
    "1Z999AA10123456784",
    "LX987654321FR",
    "RR123456789DE",
    "CX300200100PL",
]
URLS = ["https://www.example.com/listing/48213", "https://example.org/items/road-bike-7731"]

# More conversation shapes: condition and measurements, a change of plan, a question
# about the receipt or the warranty, a polite "sold already".
MORE_TEMPLATES: dict[str, list[list[str]]] = {
    "pl": [
        [
            "B:Dzień dobry, jakie są wymiary? Nie wiem, czy zmieści się w samochodzie.",
            "S:Około 120 na 60 cm, da się rozłożyć na części.",
            "B:Super, to przyjadę kombi w {day} po {time}.",
            "S:Zapraszam, będę w domu.",
        ],
    ],
    "tr": [
        [
            "B:Merhaba, faturası var mı? Garantisi devam ediyor mu?",
            "S:Faturası duruyor, garanti gelecek yıl bitiyor.",
            "B:Harika, {day} akşam bakmaya gelebilir miyim?",
            "S:Olur, {time} gibi gelin.",
        ],
    ],
    "ru": [
        [
            "B:Здравствуйте, извините, в {day} не успеваю. Можно перенести на следующий день?",
            "S:Конечно, без проблем. Во сколько удобно?",
            "B:Давайте в {time}. Меня зовут Ирина.",
            "S:Хорошо, Ирина, до встречи.",
        ],
    ],
    "el": [
        [
            "B:Καλησπέρα, έχει απόδειξη ή εγγύηση;",
            "S:Έχει την απόδειξη αγοράς, η εγγύηση λήγει του χρόνου.",
            "B:Ωραία, μπορώ να περάσω την {day} στις {time};",
            "S:Ναι, θα είμαι σπίτι.",
        ],
    ],
    "ar": [
        [
            "B:مرحبا، ما هي المقاسات؟ أريد أن أعرف إن كان سيدخل في السيارة.",
            "S:تقريبا 120 في 60 سم، ويمكن فكه.",
            "B:ممتاز، سآتي يوم {day} بعد الساعة {time}.",
            "S:أهلا وسهلا، سأكون في البيت.",
        ],
        [
            "B:مساء الخير، هل ما زال {item} متاحا؟",
            "S:آسف، تم بيعه صباح اليوم. سأخبرك إذا عرضت شيئا مشابها.",
            "B:لا مشكلة، شكرا لك!",
        ],
    ],
    "he": [
        [
            "B:היי, מה המידות? רוצה לבדוק שזה נכנס לאוטו.",
            'S:בערך 120 על 60 ס"מ, אפשר לפרק.',
            f"B:מעולה, אגיע ביום {{day}} אחרי {{time}}{RLM}.",
            "S:בשמחה, אני בבית.",
        ],
        [
            "B:ערב טוב, ה{item} עוד זמין?",
            "S:מצטער, נמכר הבוקר. אעדכן אם יהיה משהו דומה.",
            "B:אין בעיה, תודה!",
        ],
    ],
    "en": [
        [
            "B:Hi, sorry, can't make {day} after all, my daughter's ill 😕 Could we do the day after?",
            "S:Of course, hope she feels better soon! Same time, {time}?",
            "B:Perfect, thank you so much 🙏🏼",
            "S:No worries at all.",
        ],
        [
            "B:Evening! Is the {item} still for sale?",
            "S:Sorry, it went this morning ‼️ I'll message you if I list another one.",
            "B:Ah shame, thanks for letting me know " + "\U0001f44d\U0001f3fd",
        ],
    ],
}
for _lang, _templates in MORE_TEMPLATES.items():
    LANGUAGES[_lang]["templates"].extend(_templates)

"""The cue vocabulary: the phrases of each cue kind and the currency words.

Read by the baseline's features (`pipeline.baseline.features`, which finds the cue kinds
in a conversation) and by text normalisation (`pipeline.normalise`, which rejoins a
broken cue word and reads a disguised one): a module of its own so that neither imports
the other for it. Phrases are written as people write them (accents kept); both readers
fold them as they fold text.
"""

from __future__ import annotations

# Cue kinds: general signals of the scam taxonomy and of ordinary trade
# (docs/taxonomy.md), as token phrases separated by "|", in English and in the
# dataset's other languages (es, fr, de, it, pt, nl); contact details come from the
# placeholders. Not tuned to any single example.
CUE_PHRASES: dict[str, str] = {
    "payapp": "paypal|venmo|zelle|cashapp|cash app|western union|moneygram|wire|wire transfer|"
    "bank transfer|iban|swift|bitcoin|btc|crypto|usdt|gift card|gift cards|giftcard|revolut|"
    "money order|friends and family|cashier check|cashiers check|cheque|pix|bizum|postepay|"
    "paysafecard|lydia|satispay|mbway|mb way|tikkie|transferencia|transferência|virement|"
    "überweisung|bonifico|ricarica|bankoverschrijving",
    "offchannel": "whatsapp|whats app|telegram|signal|wechat|viber|text me|call me|my number|"
    "email me|e mail me|off the site|off the app|off the platform|outside the site|"
    "outside the app|outside the platform|escríbeme|écris moi|scrivimi|schreib mir",
    "deposit": "deposit|advance|upfront|up front|in advance|reserve|reservation|hold it|"
    "down payment|first payment|before the visit|before the viewing|before viewing|"
    "before the meeting|before shipping|anticipo|señal|fianza|depósito|deposito|caparra|"
    "acconto|acompte|arrhes|caution|anzahlung|kaution|vorkasse|sinal|adiantamento|aanbetaling",
    "fee": "fee|fees|insurance|customs|courier|escrow|clearance|tax|handling|shipping cost|"
    "delivery cost|tasa|taxa|taxe|frais|gebühr|gebühren|spese|dogana|douane|zoll|aduana|"
    "alfândega|seguro|assurance|versicherung|assicurazione",
    "secret": "code|codes|password|passcode|pin|otp|one time|verification|verify|login|log in|"
    "sign in|ssn|social security|id card|passport|driver s license|driver s licence|"
    "card number|cvv|bank details|account number|routing number|código|codigo|codice|"
    "passwort|contraseña|mot de passe|senha|ausweis",
    "urgency": "urgent|urgently|asap|immediately|right now|right away|today only|hurry|quickly|"
    "other buyers|other buyer|someone else|deadline|last chance|minutes|tonight|urgente|"
    "subito|sofort|dringend|schnell|rápido|ahora|adesso|maintenant|vite|agora|otras personas|"
    "altre persone|autres personnes|andere interessenten",
    "refund": "refund|overpaid|overpay|overpayment|extra|difference|send back|send it back|"
    "the rest|excess|reembolso|reembolsar|devolver|devuelve|rembourser|remboursement|rimborso|"
    "restituire|erstatten|rückerstattung|diferencia|différence|differenza|differenz|diferença",
    "meet": "visit|viewing|view|see it|see the|meet|pick up|pick it up|pickup|collect|inspect|"
    "come by|come over|look at|test drive|in person|visita|visitar|vedere|besichtigung|"
    "besichtigen|visite|abholen|recoger|ritirare|bezichtiging",
    "ship": "ship|shipping|shipped|deliver|delivery|post|parcel|mail|envío|envio|livraison|"
    "versand|spedizione|verzending",
    "platform": "checkout|buy now|through the site|through the app|through the platform|"
    "on the site|on the app|on the platform|in the app|buyer protection|make an offer|in app|"
    "plataforma|piattaforma|plateforme|plattform",
    # The `other` category's counterfeit goods: generic words and the training split's
    # wording only, in English (the training split has no counterfeit offer in another
    # language to check translations against).
    "counterfeit": "replica|replicas|fake|fakes|counterfeit|counterfeits|knockoff|knockoffs|"
    "imitation|copies|mirror quality|aaa|not original|not genuine|not authentic",
    "caution": "scam|scams|scammer|fraud|never|careful|be careful|report|don t share|"
    "do not share|estafa|arnaque|truffa|betrug|golpe|oplichting",
    "request": "send|pay|transfer|give me|need you to|you must|you have to",
    "question": "?",
    "url": "_url_",
    "email": "_email_",
    "phone": "_phone_",
}
CURRENCY_SIGNS = frozenset("$€£¥₹")
CURRENCY_WORDS = frozenset(
    {"dollar", "dollars", "usd", "eur", "euro", "euros", "pound", "pounds", "gbp", "bucks"}
    | {"quid", "rupee", "rupees", "inr", "cad", "aud", "k", "reais", "pesos", "chf", "franken"}
)


def cue_words() -> frozenset[str]:
    """Every word of the cue phrases and the currency words, as written (lowercase)."""
    words = {
        word for phrases in CUE_PHRASES.values() for p in phrases.split("|") for word in p.split()
    }
    return frozenset(words | CURRENCY_WORDS)

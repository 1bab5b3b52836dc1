"""What normalisation returns: the matching copy, the text to show, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field

# A marker the model sees in place of what was removed (never the characters themselves).
OBFUSCATION_MARKER = (
    "[parley: {hidden} invisible and {lookalikes} look-alike characters removed,"
    " {separators} separators inside words removed, {digits} digits read as letters]"
)


@dataclass(frozen=True)
class Normalised:
    """Normalised text and what it took: characters hidden (removed), look-alikes
    replaced, separators removed from broken words, digits read as letters.

    `text` is the matching copy (folded, for matchers); `shown`, when set, is the text as
    a person reads it (hidden characters removed, bidi overrides resolved, nothing
    folded): what a model is shown. Counts are of characters that changed what a word
    reads as, not of every character removed or folded.
    """

    text: str
    hidden: int = 0
    lookalikes: int = 0
    separators: int = 0
    digits: int = 0
    # Not part of equality: two texts that read the same normalise equal.
    shown: str | None = field(default=None, compare=False)

    @property
    def obfuscated(self) -> int:
        """Characters that served to hide or disguise text."""
        return self.hidden + self.lookalikes + self.separators + self.digits

    @property
    def display(self) -> str:
        """The text as a person reads it (`shown`, else `text`)."""
        return self.text if self.shown is None else self.shown

    def marker(self) -> str:
        """The line shown to a model when the text was obfuscated, else ""."""
        if not self.obfuscated:
            return ""
        return OBFUSCATION_MARKER.format(
            hidden=self.hidden,
            lookalikes=self.lookalikes,
            separators=self.separators,
            digits=self.digits,
        )

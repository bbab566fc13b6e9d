"""The one exception that means "bad input or usage": the CLI turns it into exit 2."""

from __future__ import annotations


class LiteshipError(Exception):
    """Bad input or usage. The message says what happened, why, and what to do."""

    exit_code = 2

    def __init__(self, what: str, why: str = "", fix: str = ""):
        self.what, self.why, self.fix = what, why, fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.why:
            first = self.why.split(" ", 1)[0]  # a sentence's first word is capitalised; a path or a flag never
            parts.append((self.why[0].upper() if first.isalpha() else self.why[0]) + self.why[1:].rstrip(".") + ".")
        if self.fix:
            parts.append("Fix: " + self.fix.rstrip(".") + ".")
        return " ".join(parts)

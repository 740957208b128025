"""Small helpers for the sentences commands print."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with `noun` in the number it takes: 1 document, 2 documents."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"

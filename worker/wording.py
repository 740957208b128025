"""Small helpers for the sentences commands print."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with `noun` in the number it takes: 1 document, 2 documents."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def milliseconds(ms: float | None) -> str:
    """A time in milliseconds for a line of text, to about three significant digits:
    0.42, 3.75, 28.4, 103 (runs are recorded to 0.01 ms, which matters only below 10)."""
    if ms is None:
        return "-"
    # chosen by the value as printed: 9.996 is "10.0", not "10.00"
    if round(ms, 2) < 10:
        return f"{ms:.2f}"
    return f"{ms:.1f}" if round(ms, 1) < 100 else f"{ms:.0f}"

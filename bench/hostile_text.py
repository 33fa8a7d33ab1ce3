"""Hostile text (issue 13's known gap): how long one section's render takes for
bodies of thousands of unclosed brackets, citations, images, tags and notes, at two
sizes, so that time that grows with the square of the text shows (4x the text should
take about 4x the time, not 16x). Linear parsing: `sections.scholarly.linear`.

    .venv/bin/python -m bench.hostile_text
"""

from __future__ import annotations

import os
import time

from bench import setup_embedded_django

UNITS = {
    "unclosed brackets": "[x ",
    "unclosed citations": "[@doi:10.1/x ",
    "unclosed images": "![a](",
    "unclosed links": "[a](",
    "unclosed tags": "<a ",
    "unclosed inline notes": "^[",
    "unclosed footnote references": "[^a ",
    "bracketed images": "[![",
    "informal keys": "[[a]] ",
}
SIZES = (2000, 8000)
# A render this slow is cut short: the old parsing took minutes for some of these.
GIVE_UP_AFTER = 60


def main() -> None:
    setup_embedded_django()
    import signal

    from sections import rendering

    class GaveUp(Exception):
        pass

    def give_up(*_) -> None:
        raise GaveUp

    signal.signal(signal.SIGALRM, give_up)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| text | " + " | ".join(f"{n} units" for n in SIZES) + " | growth |")
    print("|---|" + "---|" * (len(SIZES) + 1))
    for name, unit in UNITS.items():
        seconds = []
        for count in SIZES:
            signal.alarm(GIVE_UP_AFTER)
            start = time.perf_counter()
            try:
                rendering.render_fragment("Hostile", unit * count)
                seconds.append(time.perf_counter() - start)
            except GaveUp:
                seconds.append(float("inf"))
            finally:
                signal.alarm(0)
        cells = [
            f"{s:.2f} s" if s != float("inf") else f"> {GIVE_UP_AFTER} s"
            for s in seconds
        ]
        growth = seconds[-1] / max(seconds[0], 1e-3)
        shown = f"{growth:.1f}x" if growth != float("inf") else "-"
        print(f"| {name} (`{unit}`) | " + " | ".join(cells) + f" | {shown} |")


if __name__ == "__main__":
    main()

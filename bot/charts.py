"""Bar charts of rankings, breakdowns and comparisons, drawn from an answer's figures only.

An answer lists what it ranks or breaks down one per line ("1. 广州市卫生健康委员会（2026年）：860.78 万元",
"· 公务接待费：0.30 万元"). A chart is those lines whose amount is one of the answer's figures, in one
unit: the label from the line, the value from the figure. Anything else (a single amount, mixed units,
a line whose number no figure backs) gets no chart. The widget draws `chart` as inline SVG; Telegram and
the report draw it with `svg()` / `png()` here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from html import escape

from bot.answer import Answer

_LINE = re.compile(r"^\s*(?:\d+\.|·)\s*(?P<label>[^：\n]{1,80})：(?P<value>-?[\d,]+(?:\.\d+)?) ?(?P<unit>万元|元|亿元)\s*$")
MAX_BARS = 20


def chart_of(answer: Answer) -> dict | None:
    """{"unit", "bars": [{"label", "value", "figure"}]} for an answer that lists two or more amounts."""
    backed = {(f.value.replace(",", ""), f.unit): n for n, f in enumerate(answer.figures)}
    bars, units = [], set()
    for line in answer.text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        key = (match["value"].replace(",", ""), match["unit"])
        if key not in backed:
            return None  # a listed amount without a figure: draw nothing rather than something unchecked
        units.add(key[1])
        bars.append({"label": match["label"].strip(), "value": key[0], "figure": backed[key]})
    if len(bars) < 2 or len(units) != 1 or len(bars) > MAX_BARS:
        return None
    return {"unit": units.pop(), "bars": bars}


def describe(chart: dict) -> str:
    """The text alternative: every bar in words."""
    return "条形图（" + chart["unit"] + "）：" + "；".join(f"{b['label']} {b['value']}" for b in chart["bars"])


def svg(chart: dict, width: int = 560) -> str:
    """A self-contained, accessible SVG: one labelled bar per figure, the amount printed beside it."""
    bars = chart["bars"]
    top = max((abs(Decimal(b["value"])) for b in bars), default=Decimal(1)) or Decimal(1)
    row, label_w, value_w = 28, 200, 110
    plot = width - label_w - value_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {row * len(bars) + 8}" '
             f'width="100%" style="max-width:{width}px;font:13px sans-serif"><title>{escape(describe(chart))}</title>']
    for n, bar in enumerate(bars):
        y = 4 + n * row
        length = int(plot * abs(Decimal(bar["value"])) / top) if top else 0
        label = bar["label"] if len(bar["label"]) <= 14 else bar["label"][:13] + "…"
        parts.append(f'<g><title>{escape(bar["label"])}：{bar["value"]} {chart["unit"]}</title>'
                     f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{max(length, 1)}" height="{row - 10}" fill="#2f6fb3"/>'
                     f'<text x="{label_w + max(length, 1) + 6}" y="{y + 18}">{bar["value"]} {chart["unit"]}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def png(chart: dict, font_path: str | None) -> bytes | None:
    """The chart as a PNG (for Telegram), or None when no CJK font is installed to write the labels."""
    if font_path is None:
        return None
    import io

    from PIL import Image, ImageDraw, ImageFont  # only when a chart is sent

    bars = chart["bars"]
    row, label_w, value_w, width = 34, 260, 150, 900
    top = max((abs(Decimal(b["value"])) for b in bars), default=Decimal(1)) or Decimal(1)
    image = Image.new("RGB", (width, row * len(bars) + 16), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_path, 15)
    plot = width - label_w - value_w
    for n, bar in enumerate(bars):
        y = 8 + n * row
        length = max(1, int(plot * abs(Decimal(bar["value"])) / top))
        label = bar["label"] if len(bar["label"]) <= 16 else bar["label"][:15] + "…"
        draw.text((label_w - 8, y + 16), label, fill="black", font=font, anchor="rm")
        draw.rectangle((label_w, y + 5, label_w + length, y + row - 5), fill="#2f6fb3")
        draw.text((label_w + length + 8, y + 16), f"{bar['value']} {chart['unit']}", fill="black", font=font, anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@cache
def cjk_font() -> str | None:
    """A font file that can write Chinese labels (Noto CJK, WenQuanYi …), found by fontconfig's usual places."""
    from pathlib import Path

    for folder in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts")):
        for pattern in ("*CJK*Regular*", "*CJK*", "wqy*", "*SourceHan*"):
            found = sorted(Path(folder).rglob(pattern)) if Path(folder).is_dir() else []
            fonts = [p for p in found if p.suffix.lower() in (".ttc", ".ttf", ".otf")]
            if fonts:
                return str(fonts[0])
    return None

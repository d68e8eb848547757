"""Charts for trainers and trainees as PNG bytes: a score trend over time and an identification heatmap.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, safe in a bot's
worker threads), inside an rc_context whose font list is DejaVu Sans with a CJK font behind it, so
Chinese names and titles render instead of empty boxes. The CJK font is found through matplotlib's
font manager from a list of common families; if none is installed, `MissingFontError` says which
package to install. Output is deterministic for the same inputs: the PNG carries no software or time
metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import matplotlib
from matplotlib import dates as mdates
from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", "SimHei", "AR PL UMing CN",
)
# File-name fragments of those fonts, used to register fonts installed after matplotlib cached its font list.
CJK_FILE_HINTS = ("notosanscjk", "notosanssc", "sourcehansans", "wqy", "droidsansfallback", "msyh", "pingfang",
                  "simhei", "uming")
FONT_PACKAGE = "fonts-wqy-microhei"
PASS_COLOR, FAIL_COLOR, LINE_COLOR = "#2e7d32", "#c62828", "#1565c0"
NONE_COLOR = "#e0e0e0"
NO_VALUE = "–"
DPI = 150


class MissingFontError(RuntimeError):
    """No font that can draw Chinese is installed, so charts would show empty boxes."""


def find_cjk_family(candidates: Sequence[str] = CJK_FAMILIES) -> str:
    """The first installed font family from `candidates`; MissingFontError naming the package otherwise."""
    for rescan in (False, True):
        if rescan:
            known = {font.fname for font in font_manager.fontManager.ttflist}
            for path in font_manager.findSystemFonts():
                squashed = path.replace("-", "").replace("_", "").lower()
                if path not in known and any(hint in squashed for hint in CJK_FILE_HINTS):
                    font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
        for family in candidates:
            if family in installed:
                return family
    raise MissingFontError(
        f"no font for Chinese found for charts (looked for: {', '.join(candidates)}); "
        f"install one, e.g. `apt-get install {FONT_PACKAGE}` on Debian or Ubuntu")


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """The CJK font family charts use, found once per process."""
    return find_cjk_family()


def _style() -> dict[str, object]:
    # A list in font.family is a per-glyph fallback chain; the generic "sans-serif" would use only its first font.
    return {"font.family": ["DejaVu Sans", cjk_family()], "axes.unicode_minus": False}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)  # attaches itself as the figure's canvas: Agg, whatever backend pyplot may use
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _placeholder(axes, text: str = NO_VALUE) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=28, color="#9e9e9e", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def trend_png(points: list[tuple[datetime, int]], title: str, pass_mark: int) -> bytes:
    """A trainee's final scores over time: a line of dots (green passed, red not), the pass mark dashed."""
    with rc_context(_style()):
        figure = Figure(figsize=(8, 4.5), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        axes.set_title(title, fontsize=14, pad=12)
        ordered = sorted(points)
        if not ordered:
            _placeholder(axes)
            return _png(figure)
        times = [moment for moment, _ in ordered]
        scores = [score for _, score in ordered]
        axes.plot(times, scores, color=LINE_COLOR, linewidth=1.8, zorder=2)
        colors = [PASS_COLOR if score >= pass_mark else FAIL_COLOR for score in scores]
        axes.scatter(times, scores, c=colors, s=42, zorder=3)
        if len(scores) <= 20:
            for moment, score in ordered:
                axes.annotate(str(score), (moment, score), textcoords="offset points", xytext=(0, 7),
                              ha="center", fontsize=9)
        axes.axhline(pass_mark, color=FAIL_COLOR, linestyle="--", linewidth=1.2, zorder=1)
        axes.annotate(str(pass_mark), (1.0, pass_mark), xycoords=("axes fraction", "data"), xytext=(4, 0),
                      textcoords="offset points", va="center", color=FAIL_COLOR, fontsize=10)
        first, last = times[0], times[-1]
        pad = max((last - first) * 0.05, timedelta(days=2))
        axes.set_xlim(first - pad, last + pad)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axes.set_ylim(0, 105)
        axes.set_yticks(range(0, 101, 20))
        axes.grid(axis="y", color="#eeeeee")
        axes.spines[["top", "right"]].set_visible(False)
        return _png(figure)


def _check_rates(trainees: Sequence[str], personas: Sequence[str], rates: Sequence[Sequence[float | None]]) -> None:
    if len(rates) != len(trainees):
        raise ValueError(f"rates has {len(rates)} rows but there are {len(trainees)} trainees")
    for name, row in zip(trainees, rates, strict=True):
        if len(row) != len(personas):
            raise ValueError(f"rates row of {name!r} has {len(row)} values but there are {len(personas)} personas")
        for value in row:
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"rate of {name!r} must be between 0 and 1, got {value!r}")


def heatmap_png(trainees: list[str], personas: list[str], rates: list[list[float | None]], title: str) -> bytes:
    """Identification rate by trainee (rows) and persona (columns), red 0% to green 100%, "–" where no drill."""
    _check_rates(trainees, personas, rates)
    with rc_context(_style()):
        width = min(14.0, 2.2 + 1.5 * max(len(personas), 1))
        height = min(20.0, 1.6 + 0.55 * max(len(trainees), 1))
        figure = Figure(figsize=(max(width, 6.0), max(height, 3.0)), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        axes.set_title(title, fontsize=14, pad=12)
        if not trainees or not personas:
            _placeholder(axes)
            return _png(figure)
        grid = [[float("nan") if value is None else value for value in row] for row in rates]
        cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad=NONE_COLOR)
        image = axes.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        for row_index, row in enumerate(rates):
            for column_index, value in enumerate(row):
                text = NO_VALUE if value is None else f"{int(value * 100 + 0.5)}%"
                dark = value is not None and (value < 0.2 or value > 0.85)
                axes.text(column_index, row_index, text, ha="center", va="center", fontsize=11,
                          color="white" if dark else "black")
        long_labels = max(len(p) for p in personas) > 8
        axes.set_xticks(range(len(personas)), labels=personas, rotation=30 if long_labels else 0,
                        ha="left" if long_labels else "center", rotation_mode="anchor")
        axes.set_yticks(range(len(trainees)), labels=trainees)
        axes.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False, length=0)
        axes.set_xticks([x - 0.5 for x in range(1, len(personas))], minor=True)
        axes.set_yticks([y - 0.5 for y in range(1, len(trainees))], minor=True)
        axes.grid(which="minor", color="white", linewidth=2)
        axes.tick_params(which="minor", length=0)
        axes.spines[:].set_visible(False)
        colorbar = figure.colorbar(image, ax=axes, fraction=0.05, pad=0.02)
        colorbar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        return _png(figure)

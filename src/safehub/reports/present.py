"""A figure as the page shows it: the cells of its table (with the drill-down links a person may
follow) and its chart, drawn here as inline SVG (no script, no CDN: the page's Content Security
Policy allows neither). The table is the chart's text alternative; the chart repeats it."""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from safehub.reports.figures import Column, Figure, Row
from safehub.reports.scope import Period

# GOV.UK Design System colours.
COLOURS = {
    "red": "#d4351c",
    "orange": "#f47738",
    "yellow": "#ffdd00",
    "green": "#00703c",
    "light-green": "#85994b",
    "turquoise": "#28a197",
    "blue": "#1d70b8",
    "light-blue": "#5694ca",
    "purple": "#4c2c92",
    "grey": "#b1b4b6",
}
TEXT = "#0b0c0c"
GUIDE = "#505a5f"

LABEL_WIDTH = 250
BAR_WIDTH = 420
VALUE_WIDTH = 70
ROW_HEIGHT = 30
BAR_HEIGHT = 18
TOP = 10


def cell_text(column: Column, value: Any) -> str:
    if value is None:
        return "n/a"
    if column.kind == "rate":
        return f"{value * 100:.1f}%"
    if column.kind == "hours":
        return f"{value:.1f}"
    return str(value)


def csv_value(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value:.4f}"
    return str(value)


@dataclass
class Cell:
    text: str
    href: str = ""
    column: str = ""


@dataclass
class Segment:
    x: float
    width: float
    colour: str
    label: str


@dataclass
class Bar:
    y: float
    label: str
    short_label: str
    segments: list[Segment] = field(default_factory=list)
    value_text: str = ""
    value_x: float = 0


@dataclass
class Chart:
    id: str
    title: str
    description: str
    height: int
    width: int
    bars: list[Bar]
    legend: list[tuple[str, str]]  # (colour, label)
    axis_x: int = LABEL_WIDTH
    axis_end: int = LABEL_WIDTH + BAR_WIDTH

    @property
    def bars_html(self) -> SafeString:
        """The bars' SVG, built here: a national page has thousands of them, and the template
        language would take most of the page's time to write them."""
        out = []
        label_x = self.axis_x - 8
        for bar in self.bars:
            y, text_y = int(bar.y), int(bar.y) + 14
            label = escape(bar.label)
            segments = "".join(
                f'<rect x="{s.x}" y="{y}" width="{s.width}" height="18" fill="{escape(s.colour)}">'
                f"<title>{label}: {escape(s.label)}</title></rect>"
                for s in bar.segments
            )
            out.append(
                f'<g>\n<text x="{label_x}" y="{text_y}" text-anchor="end" fill="{TEXT}">'
                f"{escape(bar.short_label)}</text>\n{segments}\n"
                f'<text x="{bar.value_x}" y="{text_y}" fill="{TEXT}">{escape(bar.value_text)}'
                "</text>\n</g>"
            )
        return mark_safe("\n".join(out))  # noqa: S308 - every text above is escaped


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def chart_of(figure: Figure) -> Chart:
    """Horizontal bars, one per row: stacked parts for counts, or one bar for a rate."""
    rows = figure.rows
    height = TOP * 2 + ROW_HEIGHT * max(len(rows), 1)
    bars = []
    if figure.chart == "stacked":
        series = figure.series
        biggest = max((sum(r.values.get(c.key) or 0 for c in series) for r in rows), default=0)
        scale = BAR_WIDTH / biggest if biggest else 0
        legend = [(COLOURS[c.series], c.label) for c in series]
        for i, row in enumerate(rows):
            y = TOP + i * ROW_HEIGHT
            x = float(LABEL_WIDTH)
            bar = Bar(y, row.label, _short(row.label))
            for c in series:
                value = row.values.get(c.key) or 0
                if value:
                    width = value * scale
                    bar.segments.append(
                        Segment(
                            round(x, 1), round(width, 1), COLOURS[c.series], f"{c.label}: {value}"
                        )
                    )
                    x += width
            total = sum(row.values.get(c.key) or 0 for c in series)
            bar.value_text, bar.value_x = str(total), round(x + 6, 1)
            bars.append(bar)
        unit = "counts"
    else:
        column = figure.column(figure.chart)
        legend = [(COLOURS["blue"], column.label)]
        top = (
            1.0
            if column.kind == "rate"
            else max((r.values.get(column.key) or 0 for r in rows), default=0)
        )
        for i, row in enumerate(rows):
            y = TOP + i * ROW_HEIGHT
            value = row.values.get(column.key)
            bar = Bar(y, row.label, _short(row.label))
            width = (value or 0) / top * BAR_WIDTH if top else 0
            if value:
                bar.segments.append(
                    Segment(
                        LABEL_WIDTH,
                        round(width, 1),
                        COLOURS["blue"],
                        f"{column.label}: {cell_text(column, value)}",
                    )
                )
            bar.value_text = cell_text(column, value)
            bar.value_x = round(LABEL_WIDTH + width + 6, 1)
            bars.append(bar)
        unit = column.label.lower()
    description = (
        f"Bar chart of {unit}, one bar for each {figure.row_heading.lower()}. "
        "The table that follows gives every number."
    )
    if not rows:
        description = "Nothing to show for this period."
    return Chart(
        f"chart-{figure.slug}",
        figure.title,
        description,
        height,
        LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH,
        bars,
        legend,
    )


@dataclass
class TableRow:
    label: str
    cells: list[Cell]
    is_total: bool = False


def drill_href(figure: Figure, column: Column, row: Row, period: Period) -> str:
    query = {
        "figure": figure.slug,
        "measure": column.key,
        "period": "custom",
        "start_day": period.start.day,
        "start_month": period.start.month,
        "start_year": period.start.year,
        "end_day": period.end.day,
        "end_month": period.end.month,
        "end_year": period.end.year,
    }
    if row.council:
        query["council"] = row.council
    return reverse("reports:contacts") + "?" + urlencode(query)


def table_of(figure: Figure, *, period: Period, drill: bool) -> list[TableRow]:
    """The rows of the table; a count of contacts links to them when the person may drill."""
    out = []
    rows = [*figure.rows, *([figure.total] if figure.total is not None else [])]
    for row in rows:
        is_total = row is figure.total
        cells = []
        for column in figure.columns:
            value = row.values.get(column.key)
            href = ""
            can_link = is_total or bool(row.council)
            if drill and column.drill and value and can_link:
                href = drill_href(figure, column, row, period)
            cells.append(Cell(cell_text(column, value), href, column.label))
        out.append(TableRow(row.label, cells, is_total))
    return out


@dataclass
class FigureView:
    figure: Figure
    chart: Chart
    table: list[TableRow]
    csv_url: str

    @property
    def rows_html(self) -> SafeString:
        """The table's body rows, built here for the same reason as the chart's bars."""
        if not self.table:
            empty = (
                '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan='
                f'"{len(self.figure.columns) + 1}">Nothing in this period.</td></tr>'
            )
            return mark_safe(empty)  # noqa: S308 - no text from the data
        out = []
        for row in self.table:
            label = escape(row.label)
            cells = []
            for cell in row.cells:
                text: str = escape(cell.text)
                if cell.href:
                    text = (
                        f'<a class="govuk-link" href="{escape(cell.href)}">{text}<span '
                        f'class="govuk-visually-hidden"> contacts: {label}, '
                        f"{escape(cell.column.lower())}</span></a>"
                    )
                cells.append(
                    f'<td class="govuk-table__cell govuk-table__cell--numeric">{text}</td>'
                )
            out.append(
                f'<tr class="govuk-table__row">\n<th scope="row" class="govuk-table__header">'
                f"{label}</th>\n{''.join(cells)}\n</tr>"
            )
        return mark_safe("\n".join(out))  # noqa: S308 - every text above is escaped


def figure_view(figure: Figure, *, period: Period, drill: bool, csv_url: str) -> FigureView:
    return FigureView(
        figure, chart_of(figure), table_of(figure, period=period, drill=drill), csv_url
    )


def csv_rows(figure: Figure) -> list[list[str]]:
    header = [figure.row_heading, *(c.label for c in figure.columns)]
    rows = [*figure.rows, *([figure.total] if figure.total is not None else [])]
    return [
        header,
        *(
            [row.label, *(csv_value(c, row.values.get(c.key)) for c in figure.columns)]
            for row in rows
        ),
    ]

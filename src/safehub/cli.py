"""`safehub <command>`: the product's commands, with Django's own management commands behind.

safehub serve | worker | demo
safehub apiclient create --force CODE --name NAME | list | rotate PREFIX | revoke PREFIX
safehub audit seal | verify [--anchor SEQ:HASH] | export --from DATE --to DATE -o FILE.csv
safehub generate --notifications N [--seed S] [--start DATE] [--days D] -o FILE.jsonl
safehub import FILE.jsonl|FILE.json
safehub load_national [--notifications N] [--force CODE] [--seed S] [--days D]   (a benchmark world)
safehub linkage evaluate --records R.csv --truth T.csv [--json] [--baseline]
safehub linkage train [--records R.csv] [-o model.json] [--no-store]
safehub linkage load FILE.csv --source NAME [--rejects R.csv]
safehub linkage run [--batch-size N]
safehub linkage generate --people N [--seed S] -o people.csv --truth truth.csv
safehub linkage febrl4 -o records.csv --truth truth.csv   (needs the dev extra)
safehub reference load [--agencies CSV] [--districts CSV]
safehub twofactor reset USERNAME [--reason TEXT]
safehub retention run [--dry-run] [--limit N] | rules
safehub export cin-census --council CODE --year YYYY -o FILE.xml [--check]
safehub export annex-a --council CODE [--from DATE] [--to DATE] -o FILE.xlsx
safehub migrate | createsuperuser | check | ...   (any Django management command)
"""

import os
import sys

ALIASES = {
    "import": "import_notifications",
    "generate": "generate_notifications",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safehub.settings")
    args = list(sys.argv if argv is None else ["safehub", *argv])
    if len(args) > 1 and args[1] in ALIASES:
        args[1] = ALIASES[args[1]]
    if len(args) == 1:
        print(__doc__)
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)

"""Fill msgstrs of the zh_Hans catalogue from a {msgid: msgstr} module and
compile it: ``python locale/apply_translations.py FILE.py``.

Used when a batch of new messages is translated; entries already translated
and not fuzzy are left as they are unless the module names them.
"""

import runpy
import sys
from pathlib import Path

import polib

CATALOGUE = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main(path: str) -> None:
    table = runpy.run_path(path)["T"]
    po = polib.pofile(str(CATALOGUE))
    done = 0
    for entry in po:
        if entry.msgid in table:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: table[entry.msgid]}
            else:
                entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            entry.previous_msgid = None
            done += 1
    po.save()
    po.save_as_mofile(str(CATALOGUE.with_suffix(".mo")))
    missing = [e.msgid for e in po if not (e.msgstr or e.msgstr_plural) or e.fuzzy]
    print(f"{done} filled, {len(missing)} still untranslated or fuzzy")
    for msgid in missing:
        print("  ", repr(msgid))


if __name__ == "__main__":
    main(sys.argv[1])

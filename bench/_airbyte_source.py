"""Airbyte's source-zoho-crm pointed at the emulator. Not a benchmark: `bench/_airbyte.py` runs it
with the Airbyte virtualenv's Python (never ALIX's), as

    python bench/_airbyte_source.py EMULATOR_URL read --config C --catalog K

The connector builds its URLs from `dc_region` alone (https://accounts.zoho.com,
https://zohoapis.com) and has no setting to point it elsewhere, so this harness swaps its two
region tables for the emulator's address before handing the rest of the command line to the
connector's own entry point.
"""

from __future__ import annotations

import sys
from types import MappingProxyType


def main() -> None:
    emulator, *argv = sys.argv[1:]
    from airbyte_cdk.entrypoint import launch
    from source_zoho_crm.api import ZohoAPI
    from source_zoho_crm.source import SourceZohoCrm

    ZohoAPI._DC_REGION_TO_ACCESS_URL = MappingProxyType({"US": emulator})
    ZohoAPI._DC_REGION_TO_API_URL = MappingProxyType({"US": emulator})
    launch(SourceZohoCrm(), argv)


if __name__ == "__main__":
    main()

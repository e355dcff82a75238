"""Importers: ESP and shop exports into a world, through the data contract.

``workbench import --preset mailchimp|klaviyo|shopify|generic`` (or :func:`import_world` with a
:class:`~workbench.importers.mapping.ImportMap` from :func:`load_mapping` or :func:`preset_map`)
streams an export through DuckDB into a world folder that every notebook and verb reads. Addresses
never enter a world: an id column holding addresses is replaced by a salted hash
(:func:`read_salt`, ``$WORKBENCH_SALT``), and the address column itself is never copied.
"""

from workbench.importers.engine import (
    IMPORT_DEFAULTS,
    SALT_ENV,
    ImportResult,
    address_id,
    import_world,
    read_salt,
)
from workbench.importers.mapping import ImportMap, Part, TableMap, load_mapping

__all__ = [
    "IMPORT_DEFAULTS",
    "SALT_ENV",
    "ImportMap",
    "ImportResult",
    "Part",
    "TableMap",
    "address_id",
    "import_world",
    "load_mapping",
    "read_salt",
]

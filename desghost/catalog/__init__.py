"""The catalog: the SQLite store, its queries, and the ray-tracing list import."""

from desghost.catalog.store import Catalog, CatalogError

__all__ = ["Catalog", "CatalogError"]

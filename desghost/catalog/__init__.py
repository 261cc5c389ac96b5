"""The catalog: the SQLite store, its queries, and the ray-tracing list import."""

"""Query -> ranked results: dense, sparse, hybrid."""

"""Shared test helpers: throwaway backends, figure recording, running servers."""

"""Adapters that let agent and RAG frameworks keep their documents in a Space.

``langchain`` (extra ``[langchain]``) and ``llamaindex`` (extra ``[llamaindex]``) each
import their framework at module level, so importing one without its extra raises
MissingDependencyError naming the pip command; this package itself imports nothing.
The framework-free parts they share live beside them: ``slot`` (which space a store
writes to), ``encoding`` (texts to plain float lists), ``filters`` (framework filters
to ``where``) and ``mmr`` (diverse results through the project's own MMR).
"""

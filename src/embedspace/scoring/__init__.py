"""Keyword scoring: the text analyzer and the sparse scorers (one-hot, bag-of-words,
TF-IDF, BM25).

Why a package of its own: these rank text without embeddings, so they are not encoders;
they sit below every other layer (only ``errors`` beneath them) because the encoders
(word vectors' tokenizer), the stores (BM25 in SQL) and search all use them.
"""

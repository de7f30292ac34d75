"""Stories: reports of one development from several outlets, grouped by one writer.

``features`` (what is compared), ``rarity`` (IDF with a background prior), ``scoring`` and
``model`` (the decision), ``memory`` (the window's index), ``state`` (Redis), ``assigner``
(the single writer that reads the ingest stream), ``offline`` (grouping without Redis).
"""

"""The count-to-milliseconds fit checked on this machine: x86 counts against the times of LiteRT's own benchmark tool.

``variants`` makes the models (random weights, seeded, kept in a cache folder and made again when missing);
``measure`` counts each under valgrind (liteship's ``x86`` backend) and times it, by the peer tool's wall clock and
by this thread's CPU time around the reference backend's ``invoke``.
"""

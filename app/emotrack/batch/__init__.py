"""``emotrack batch``: many lines, resumable, on local worker processes or a Ray cluster.

- ``work``: the settings of a batch and what one worker does with one line (the same
  pipeline calls as ``emotrack analyze`` and ``emotrack export``);
- ``local_pool``: worker processes on this machine, one model load per process;
- ``ray_pool``: Ray actors on a cluster, one model per actor (imported only for ``--ray``);
- ``runner``: plans, skips what is done, feeds an engine, keeps the ledger and summary;
- ``progress``: a progress bar on a terminal, plain lines otherwise.

The planning, ledger and summary themselves are Qt- and torch-free, in ``core.batch_*``.
"""

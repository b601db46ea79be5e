"""common/: helpers below every layer (theory, sim, real, experiments all may import it; it imports none).

``atomic`` (atomic file and folder writes), ``figures`` (PNG figures written atomically), ``results``
(the results convention: ``results/<name>/summary.json`` with claims), ``checks`` (argument validation
whose errors name the argument).
"""

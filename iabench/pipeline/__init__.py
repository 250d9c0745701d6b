"""The main job in stages, data flowing one way (``iabench.runner.Run`` calls them in this order):

- ``plan``: the run directory, the evaluated samples and the work items (seed x model x explainer);
- ``models``: the data, and each model variant trained or loaded from the checkpoint cache;
- ``explain``: saliency maps per chunk, from the explanation cache or computed and cached;
- ``score``: every metric of every work item, appended to the run's results store;
- ``artifacts``: the run files the report is built from (metrics.json, explainers.json, models.json,
  training.csv, heatmaps.npz, manifest.json).
"""

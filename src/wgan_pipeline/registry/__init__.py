"""The generator in MLflow: its tags, the champion's verdict (champion.py) and the model MLflow
loads and serves (digits_model.py, which MLflow runs on its own)."""

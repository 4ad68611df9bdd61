"""`serve`: the pipeline behind HTTP (FastAPI + uvicorn), micro-batched and memory-safe."""

"""Real labelled text from a Debian machine, turned into the challenge's X/Y files (no downloads).

Each builder reads files a Debian package puts on disk and returns a `TextDataset`; `common.write_challenge_files`
writes it as `X_<name>.csv` / `Y_<name>.csv` (plus the code -> label names) for `rakuten-mlops ingest rakuten`.

    python -m scripts.datasets wordnet --output data/wordnet
    python -m scripts.datasets debian-packages --output data/debian
"""

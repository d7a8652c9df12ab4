"""Run under torchrun by tests/test_distributed.py (CPU, gloo) and tests/test_cuda.py (one GPU, nccl): fit on the
demo data and save this rank's parameters and the process group's backend."""

from __future__ import annotations

import sys
from pathlib import Path

import torch.distributed
from safetensors.torch import save_file

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.training.distributed import process_group

DEMO = Path(__file__).resolve().parents[1] / "data" / "shop_train.parquet"
SETTINGS = {"dropout": 0.0, "max_epochs": 3, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64,
            "random_state": 0, "device": "cpu"}


def main(output: Path, device: str = "cpu", negative_samples: str = "0") -> None:
    data = read_dataset(DEMO)
    with process_group(device) as rank:
        model = LabelGCNClassifier(**{**SETTINGS, "device": device, "negative_samples": int(negative_samples)}
                                   ).fit(data.X[:1000], data.Y[:1000])
        state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.model_.state_dict().items()}
        save_file(state, str(output / f"rank{rank}.safetensors"))
        (output / f"rank{rank}.backend").write_text(torch.distributed.get_backend())


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:])

"""PyTorch's trainer for the benchmark worker: eager mode as its tutorials write it.

nn.Sequential of Linear and ReLU, CrossEntropyLoss on the logits, torch.optim.Adam; per
epoch a fresh torch.randperm, then per batch X[index], zero_grad, forward, backward, step.
"""
import torch


class Trainer:
    def __init__(self, spec, X, y):
        if spec.get("threads"):
            torch.set_num_threads(spec["threads"])
        torch.manual_seed(spec["seed"])
        sizes = spec["sizes"]
        layers = []
        for i, o in zip(sizes, sizes[1:]):
            layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
        self.model = torch.nn.Sequential(*layers[:-1])
        self.loss = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=spec["lr"])
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.batch_size = spec["batch_size"]
        self.version = torch.__version__
        self.threads = torch.get_num_threads()

    def train(self, n):
        total = torch.zeros(())
        for index in torch.randperm(n).split(self.batch_size):
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.X[index]), self.y[index])
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * len(index)
        return float(total) / n

    def warm_up(self):
        """Two batches: PyTorch allocates its caches and the optimizer state."""
        self.train(min(len(self.X), 2 * self.batch_size))

    def epoch(self):
        return self.train(len(self.X))

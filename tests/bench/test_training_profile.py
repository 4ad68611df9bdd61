"""The phase timers of `bench.training_profile` count only timed steps and pass calls on."""

from bench.training_profile import PhaseTimer, TimedOptimizer


class CountingOptimizer:
    learn_rate = 0.1

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, key: tuple, weights: float, gradient: float) -> tuple:
        self.calls.append(key)
        return weights - self.learn_rate * gradient, 0.0


def test_phases_are_counted_only_while_on() -> None:
    timer = PhaseTimer()
    double = timer.wrap("double", lambda x: 2 * x)
    assert double(2) == 4 and "double" not in timer.seconds
    timer.on = True
    assert double(3) == 6 and timer.seconds["double"] > 0


def test_timed_optimizer_updates_like_the_optimizer() -> None:
    timer = PhaseTimer()
    timer.on = True
    inner = CountingOptimizer()
    optimizer = TimedOptimizer(inner, timer)
    assert optimizer(("layer", "W"), 1.0, 2.0) == (0.8, 0.0)
    assert optimizer.learn_rate == 0.1 and inner.calls == [("layer", "W")]
    assert timer.seconds["optimizer"] > 0

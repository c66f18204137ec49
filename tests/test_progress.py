"""Progress shows every step, and statuses without flooding: rewritten on a terminal, thinned in a log."""

from conformance.live import progress
from conformance.live.progress import RunBoard


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_in_a_log_a_status_is_printed_when_it_changed_and_time_has_passed():
    lines, clock = [], Clock()
    with progress.displayed(progress.Display(lines.append, prefix="p: ", every=5, clock=clock)):
        progress.status("boot: 0 s")
        for second in range(1, 12):
            clock.now = second
            progress.status(f"boot: {second} s")
        progress.step("healthy after 11.0 s")
        progress.status("boot: 11 s")  # unchanged text: never repeated
        progress.detail("one stream's last line")  # only with -v
    assert lines == ["p: boot: 0 s", "p: boot: 5 s", "p: boot: 10 s", "p: healthy after 11.0 s"]


def test_on_a_terminal_a_status_rewrites_one_line_and_a_step_takes_its_place():
    screen = []
    display = progress.Display(
        lambda line: screen.append(("line", line)), lambda line: screen.append(("rewrite", line))
    )
    with progress.displayed(display, verbose=True):
        progress.status("runs: 1 of 2 finished")
        progress.status("runs: 2 of 2 finished")
        progress.detail("stream a: 3 lines")
        progress.status("runs: 2 of 2 finished, 3 s")
    assert screen == [
        ("rewrite", "runs: 1 of 2 finished"),
        ("rewrite", "runs: 2 of 2 finished"),
        ("rewrite", "stream a: 3 lines"),
        ("line", ""),
        ("rewrite", "runs: 2 of 2 finished, 3 s"),
        ("line", ""),  # closing the display ends the status line
    ]


def test_the_run_board_counts_a_run_finished_once_all_its_streams_ended():
    board = RunBoard(["a", "b"], {"a-1": "a", "a-2": "a", "b-1": "b"}, started=0.0)
    board.ended("a-1")
    board.ended("b-1")
    assert board.line().startswith("runs: 1 of 2 finished, 2 of 3 streams ended, ")
    assert board.line().endswith("; waiting for a")

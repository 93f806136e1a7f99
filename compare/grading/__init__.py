"""Grading students' backward passes: running their code, judging what it returns,
naming the mistake, probing beyond the exercise's one example."""

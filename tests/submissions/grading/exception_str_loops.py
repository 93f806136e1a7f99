"""Raises an exception whose __str__ never returns."""


class Endless(Exception):
    def __str__(self):
        while True:
            pass


def backward(params, x, y):
    raise Endless()

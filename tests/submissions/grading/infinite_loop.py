"""Never returns."""


def backward(params, x, y):
    while True:
        pass

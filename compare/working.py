"""The working of each answer-key entry: its formula with the numbers substituted.

Derived from the structure of the pass, one function per kind of step (an affine layer,
an activation, the loss, the loss gradient, an activation's derivative, the gradient
through it, a weight gradient, a bias gradient, back to the previous layer), never
from per-exercise text. Every number substituted is a value of the exact pass (or of the
file's parameters and examples in the same arithmetic), the one the formula reads:

    ∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225
    z1[2] = x·W1[:,2] + b1[2] = 1×0.3 + 0×0.1 + 1×(−0.1) + 1×0.3 + 0 = 0.5

For a batch, intermediates carry the example (``z1[3][0]``) and gradients sum over
the examples (``Σ_b``). ``Working.formula`` gives the ``compare.expression.Formula`` of an
entry, or None for a quantity it has no step for.
"""
from fractions import Fraction

import numpy as np

from compare.expression import (Add, Applied, Call, Cond, Div, Dot, Entry, Formula, Group, Literal, Mul, Neg, PRODUCT,
                                Shown, Sigma, Square, Sub, Terms, Value)
from reference import activations, losses, quantities
from reference.backprop import Pass, learning_rate
from reference.exercise import Exercise
from reference.numbers import EXACT, convert, mp


# The coefficient of each loss and of its gradient, numerator and divisors ("n": the outputs),
# before the 1/B of a mean over the batch: L = 1/n Σ (ŷ − y)², ∂L/∂ŷ = 2/n (ŷ − y) for mse, ...
LOSS_COEFFICIENTS = {"mse": (1, ["n"]), "sse": (1, [2]), "sum_squares": (1, []), "bce": (-1, ["n"]),
                     "bce_with_logits": (1, ["n"]), "cross_entropy": (-1, [])}
GRADIENT_COEFFICIENTS = {"mse": (2, ["n"]), "sse": (1, []), "sum_squares": (2, []), "bce": (1, ["n"]),
                         "bce_with_logits": (1, ["n"]), "cross_entropy": (1, [])}
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")


class NoWorking(LookupError):
    """A loss or activation this module has no formula for: its entries are shown without working."""


def _known(known, name: str):
    """``known[name]`` of a dict, ``name`` itself if it is in a tuple; ``NoWorking`` otherwise."""
    if name not in known:
        raise NoWorking(name)
    return known[name] if isinstance(known, dict) else name


class Working:
    """The formulas of one exercise's exact pass."""

    def __init__(self, exercise: Exercise, exact: Pass):
        self.exercise = exercise
        self.arch = arch = exercise.architecture
        self.n = arch.n_layers
        self.batch = exercise.batch_size
        self.exact = exact
        self.number_type = arch.ground_truth
        self.inputs = {"x": convert(exercise.x, self.number_type), "y": convert(exercise.y, self.number_type)}
        self.params = {name: convert(value, self.number_type) for name, value in exercise.parameters.items()}
        self.slope = self.number(Fraction(arch.negative_slope))
        self.kinds = {}  # quantity name -> (step kind, layer)
        for k in range(1, self.n + 1):
            activation = arch.activations[k - 1]
            self.kinds[f"z{k}"] = (self.pre_activation, k)
            self.kinds[quantities.derivative_name(k, self.n, activation)] = (self.derivative, k)
            self.kinds[f"dL/dz{k}"] = (self.through_activation, k)
            self.kinds[f"dL/dW{k}"] = (self.weight_gradient, k)
            self.kinds[f"dL/db{k}"] = (self.bias_gradient, k)
            if k < self.n:
                self.kinds[quantities.hidden_name(k, self.n)] = (self.activation, k)
                self.kinds[f"dL/d{quantities.hidden_name(k, self.n)}"] = (self.to_previous_layer, k + 1)
        self.kinds["y_hat"] = (self.output, self.n)
        self.kinds[quantities.PROBABILITIES_NAME] = (self.probabilities, self.n)
        self.kinds["L"] = (self.loss, self.n)
        self.kinds[quantities.ERROR_NAME] = (self.error, self.n)
        self.kinds[quantities.EXPONENTIALS_NAME] = (self.exponentials, self.n)
        self.kinds[quantities.PER_EXAMPLE_NAME] = (self.per_example, self.n)
        for parameter in arch.parameter_shapes():
            name = quantities.DELTA_PREFIX + parameter
            self.kinds[name] = (lambda k, index, name=name: self.update(name, index), self.n)
        self.lr = learning_rate(exercise, self.number_type)
        self.kinds["dL/dy_hat"] = (self.loss_gradient, self.n)

    # ---- values and names ----

    def number(self, value: Fraction):
        """``value`` in the ground truth's arithmetic."""
        return value if self.number_type == EXACT else mp().mpf(value.numerator) / value.denominator

    def _rows(self, name: str) -> np.ndarray:
        """A quantity of the pass (or ``x``, ``y``) with its batch axis: (B, n)."""
        value = self.inputs[name] if name in self.inputs else self.exact.values[name]
        return value.reshape(1, -1) if value.ndim == 1 else value

    def index(self, b, j) -> tuple:
        """How an intermediate entry is named: ``[j]`` for one example, ``[b][j]`` for a batch."""
        return (j,) if self.batch == 1 else (b, j)

    def q(self, name: str, b, j) -> Value:
        """Entry j of example b of a quantity, named as the text names it."""
        return Value(self._rows(name)[b, j], Entry(name, self.index(b, j)))

    def parameter(self, name: str, *index) -> Value:
        """Entry ``index`` (the (in, out) layout's) of parameter ``name`` (``W1``, ``b2``;
        no index for a shared bias) of the file, in the ground truth's arithmetic, named as
        the text's layout names it."""
        return Value(self.params[name][index], Entry(name, self.arch.layout_index(name, index)))

    def weights(self, k: int, index: tuple) -> Entry:
        """A row or column of W_k (``(":", j)``: the weights into neuron j, in the (in,
        out) layout) named as the text writes it: ``W1[:,j]``, or ``W1[j,:]`` for an
        ``out_in`` text."""
        return Entry(f"W{k}", self.arch.layout_index(f"W{k}", index))

    def constant(self, value: Fraction, text: str | None = None, latex: str | None = None) -> Value:
        """A constant of the formula (``2/4``); shown as ``text`` in symbols when given."""
        symbol = Literal(text, latex, PRODUCT) if text else None
        return Value(self.number(value), symbol)

    def source(self, k: int) -> str:
        """What weight layer k multiplies: ``x`` or the previous hidden layer."""
        return "x" if k == 1 else quantities.hidden_name(k - 1, self.n)

    def upstream(self, k: int) -> str:
        """∂L/∂z of layer k, named ∂L/∂ŷ for a linear output layer, as the text."""
        return "dL/dy_hat" if k == self.n and self.arch.activations[-1] == "identity" else f"dL/dz{k}"

    def activated(self, k: int) -> str:
        """What layer k's activation is called: ``h``, ``h2``, or ``y_hat`` for the output."""
        return "y_hat" if k == self.n else quantities.hidden_name(k, self.n)

    def _example(self, index: tuple) -> tuple[int, int]:
        return (0, index[0]) if len(index) == 1 else index

    def formula(self, name: str, index: tuple) -> Formula | None:
        """The working of entry ``index`` of quantity ``name``; None for a quantity
        without a step here."""
        if name not in self.kinds:
            return None
        step, k = self.kinds[name]
        try:
            lhs, expression = step(k, index)
        except NoWorking:
            return None
        return Formula(lhs, expression, self.exact.values[name][index])

    # ---- the forward pass ----

    def affine(self, k: int, b: int, j: int):
        """z_k[j] = a·W_k[:,j] + b_k[j] (``W_k[j,:]·a`` for an ``out_in`` text, each
        product weight first; ``b_k`` for a shared bias): the sum of the products, then the bias."""
        source, weights = self.source(k), f"W{k}"
        inputs = self._rows(source)
        out_in = self.arch.layout == "out_in"

        def product(i):
            factors = [self.q(source, b, i), self.parameter(weights, i, j)]
            return Mul(factors[::-1] if out_in else factors)
        vectors = [Entry(source, () if self.batch == 1 else (b,)), self.weights(k, (":", j))]
        dot = Shown(Dot(*(vectors[::-1] if out_in else vectors)), Add(Terms(inputs.shape[1], product)))
        bias = f"b{k}"
        if bias not in self.params:
            return dot
        return Add([dot, self.parameter(bias) if self.arch.shares_bias(k) else self.parameter(bias, j)])

    def pre_activation(self, k: int, index: tuple):
        """z_k[j] = a·W_k[:,j] + b_k[j]."""
        b, j = self._example(index)
        return Entry(f"z{k}", index), self.affine(k, b, j)

    def activation(self, k: int, index: tuple):
        """h = f(z): max(0, z), its leaky form, 1/(1 + exp(−z)), tanh(z) or z itself."""
        b, j = self._example(index)
        z = self.q(f"z{k}", b, j)
        name = _known(ACTIVATIONS, self.arch.activations[k - 1])
        symbolic = Applied(name, z.symbol)
        if name == "relu":
            numeric = Call("max0", z)
        elif name == "leaky_relu":
            numeric = z if z.value > 0 else Mul([Value(self.slope), z])
        elif name == "sigmoid":
            numeric = Div(Value(self.number(Fraction(1))),
                          Add([Value(self.number(Fraction(1))), Call("exp", Neg(z))]))
        elif name == "tanh":
            numeric = Call("tanh", z)
        else:
            return Entry(self.activated(k), index), z
        return Entry(self.activated(k), index), Shown(symbolic, numeric)

    def output(self, k: int, index: tuple):
        """ŷ: the affine output of a linear last layer, else its activation."""
        if self.arch.activations[-1] == "identity":
            b, j = self._example(index)
            return Entry("y_hat", index), self.affine(k, b, j)
        return self.activation(k, index)

    def probabilities(self, k: int, index: tuple):
        """p: softmax(ŷ)[j] = exp(ŷ[j]) / Σ_c exp(ŷ[c]) for cross-entropy, σ(ŷ[j]) for BCE on logits."""
        b, j = self._example(index)
        lhs = Entry(quantities.PROBABILITIES_NAME, index)
        if self.arch.loss == "bce_with_logits":
            y_hat = self.q("y_hat", b, j)
            one = Value(self.number(Fraction(1)))
            return lhs, Shown(Applied("sigmoid", y_hat.symbol), Div(one, Add([one, Call("exp", Neg(y_hat))])))
        if self.arch.loss != "cross_entropy":
            raise NoWorking(self.arch.loss)
        n_out = self.arch.sizes[-1]
        below = Add(Terms(n_out, lambda c: Call("exp", self.q("y_hat", b, c))))
        return lhs, Div(Call("exp", self.q("y_hat", b, j)), Group(below))

    def error(self, k: int, index: tuple):
        """e = ŷ − y (p − y for a loss on logits)."""
        b, j = self._example(index)
        output = quantities.PROBABILITIES_NAME if self.arch.loss in losses.PROBABILITIES else "y_hat"
        return Entry(quantities.ERROR_NAME, index), Sub(self.q(output, b, j), self.q("y", b, j))

    def exponentials(self, k: int, index: tuple):
        """exps[j] = exp(ŷ[j])."""
        b, j = self._example(index)
        return Entry(quantities.EXPONENTIALS_NAME, index), Call("exp", self.q("y_hat", b, j))

    def per_example(self, k: int, index: tuple):
        """L of one example: the loss's coefficient (without the 1/B) times its outputs' terms."""
        (b,) = index
        n_out, loss = self.arch.sizes[-1], self.arch.loss
        numerator, divisors = _known(LOSS_COEFFICIENTS, loss)
        coefficient = self._coefficient(numerator, [n_out if d == "n" else d for d in divisors])
        total = Add(Terms(n_out, lambda j: self._loss_term(
            self.q("y_hat", b, j), self.q("y", b, j), self._softmax(b, j) if loss == "cross_entropy" else None)))
        lhs = Entry(quantities.PER_EXAMPLE_NAME, index)
        if coefficient is None:
            return lhs, total
        if coefficient.symbol is None and coefficient.value == -1:
            return lhs, Neg(total)
        return lhs, Mul([coefficient, total])

    def update(self, name: str, index: tuple):
        """Δθ = −lr · ∂L/∂θ, with the [training] lr (0.1 where the file states none); 0 for
        a parameter the file's [training] freeze keeps."""
        parameter = quantities.delta_parameter(name)
        if parameter in self.exercise.training.freeze:
            return Entry(name, self.arch.layout_index(name, index)), self.constant(Fraction(0))  # why: the why-zero column
        gradient = Value(self.exact.values[f"dL/d{parameter}"][index],
                         Entry(f"dL/d{parameter}", self.arch.layout_index(parameter, index)))
        lr = self.constant(Fraction(str(self.lr)) if not isinstance(self.lr, Fraction) else self.lr, "lr", "\\mathrm{lr}")
        return Entry(name, self.arch.layout_index(name, index)), Neg(Mul([lr, gradient]))

    # ---- the loss and its gradient ----

    def _coefficient(self, numerator: int, divisors: list[int]) -> Value | None:
        """``numerator / (divisors…)`` as the text writes it (``2/4``, ``1/(4·4)``); None for 1."""
        divisors = [d for d in divisors if d != 1]
        if not divisors and numerator == 1:
            return None
        value = Fraction(numerator, int(np.prod(divisors)) if divisors else 1)
        if not divisors:
            return self.constant(value)
        sign, top = ("−" if numerator < 0 else ""), abs(numerator)
        below = "·".join(map(str, divisors))
        text = f"{sign}{top}/" + (below if len(divisors) == 1 else f"({below})")
        latex = ("-" if sign else "") + rf"\frac{{{top}}}{{" + r" \cdot ".join(map(str, divisors)) + "}"
        return self.constant(value, text, latex)

    def _per_batch(self) -> list[int]:
        return [self.batch] if self.arch.reduction == "mean" else []

    def _softmax(self, b: int, c: int) -> Value:
        """p[c] = softmax(ŷ)[c] of example b (cross-entropy): the exact pass's p."""
        return self.q(quantities.PROBABILITIES_NAME, b, c)

    def _sigmoid_of_output(self, b: int, j: int) -> Value:
        """σ(ŷ[j]) of example b (binary cross-entropy on logits): the exact pass's p, shown
        as σ(ŷ[j])."""
        return Value(self._rows(quantities.PROBABILITIES_NAME)[b, j],
                     Applied("sigmoid", Entry("y_hat", self.index(b, j))))

    def _loss_term(self, y_hat: Value, y: Value, p: Value | None):
        """The loss of one output of one example, before its coefficient."""
        one = Value(self.number(Fraction(1)))
        loss = self.arch.loss
        if loss in ("mse", "sse", "sum_squares"):
            return Square(Sub(y_hat, y))
        if loss == "bce":
            return Group(Add([Mul([y, Call("log", y_hat)]), Mul([Sub(one, y), Call("log", Sub(one, y_hat))])]))
        if loss == "bce_with_logits":
            return Group(Sub(Call("log", Add([one, Call("exp", y_hat)])), Mul([y, y_hat])))
        return Mul([y, Call("log", p)])

    def loss(self, k: int, index: tuple):
        """L = c · Σ (per-output terms): the coefficient 1/n, 1/2 or −1, over B for a mean."""
        n_out, loss = self.arch.sizes[-1], self.arch.loss
        numerator, divisors = _known(LOSS_COEFFICIENTS, loss)
        divisors = [n_out if d == "n" else d for d in divisors]
        coefficient = self._coefficient(numerator, divisors + self._per_batch())
        names = ("b", "j") if self.batch > 1 else ("j",)
        body = self._loss_term(*(Value(0, Entry(name, names)) for name in ("y_hat", "y", "p")))

        def term(i):
            b, j = divmod(i, n_out)
            return self._loss_term(self.q("y_hat", b, j), self.q("y", b, j),
                                   self._softmax(b, j) if loss == "cross_entropy" else None)
        total = Shown(Sigma(names, body), Add(Terms(self.batch * n_out, term)))
        if coefficient is None:
            return Entry("L"), total
        if coefficient.symbol is None and coefficient.value == -1:
            return Entry("L"), Neg(total)
        return Entry("L"), Mul([coefficient, total])

    def loss_gradient(self, k: int, index: tuple):
        """∂L/∂ŷ: c · (ŷ − y) (mse 2/n, sse 1), (ŷ − y)/(ŷ(1 − ŷ))/n (bce), (σ(ŷ) − y)/n
        (bce on logits), p − y (cross-entropy); over B for a mean."""
        b, j = self._example(index)
        n_out, loss = self.arch.sizes[-1], self.arch.loss
        y_hat, y = self.q("y_hat", b, j), self.q("y", b, j)
        numerator, divisors = _known(GRADIENT_COEFFICIENTS, loss)
        divisors = [n_out if d == "n" else d for d in divisors]
        coefficient = self._coefficient(numerator, divisors + self._per_batch())
        if loss == "bce":
            one = Value(self.number(Fraction(1)))
            core = Div(Sub(y_hat, y), Mul([y_hat, Sub(one, y_hat)]))
        elif loss == "bce_with_logits":
            core = Sub(self._sigmoid_of_output(b, j), y)
        elif loss == "cross_entropy":
            core = Sub(self._softmax(b, j), y)
        else:
            core = Sub(y_hat, y)
        return Entry("dL/dy_hat", index), (Mul([coefficient, core]) if coefficient is not None else core)

    # ---- the backward pass ----

    def derivative(self, k: int, index: tuple):
        """f′(z_k): (1 if z > 0 else 0) for ReLU (the slope for leaky ReLU), a(1 − a) for
        sigmoid, 1 − a² for tanh, 1 for identity."""
        b, j = self._example(index)
        name = _known(ACTIVATIONS, self.arch.activations[k - 1])
        z = self.q(f"z{k}", b, j)
        lhs = Applied(name, z.symbol, prime=True)
        one = Value(self.number(Fraction(1)))
        if name in activations.KINKED:
            slope = self.slope if name == "leaky_relu" else self.number(Fraction(0))
            return lhs, Cond(z, one, Value(slope))
        a = self.q(self.activated(k), b, j)
        if name == "sigmoid":
            return lhs, Mul([a, Sub(one, a)])
        if name == "tanh":
            return lhs, Sub(one, Square(a))
        return lhs, one

    def _derivative_value(self, k: int, b: int, j: int) -> Value:
        activation = _known(ACTIVATIONS, self.arch.activations[k - 1])
        name = quantities.derivative_name(k, self.n, activation)
        return Value(self._rows(name)[b, j], Applied(activation, Entry(f"z{k}", self.index(b, j)), prime=True))

    def through_activation(self, k: int, index: tuple):
        """∂L/∂z_k = ∂L/∂a_k · f′(z_k)."""
        b, j = self._example(index)
        incoming = "dL/dy_hat" if k == self.n else f"dL/d{quantities.hidden_name(k, self.n)}"
        return Entry(f"dL/dz{k}", index), Mul([self.q(incoming, b, j), self._derivative_value(k, b, j)])

    def _over_examples(self, make, variable_symbol):
        """One example's term, or Σ_b over the batch's."""
        if self.batch == 1:
            return make(0)
        return Shown(Sigma(("b",), variable_symbol), Add(Terms(self.batch, make)))

    def weight_gradient(self, k: int, index: tuple):
        """∂L/∂W_k[i][j] = Σ_b a[b][i] · ∂L/∂z_k[b][j] (``∂L/∂W_k[j][i] = Σ_b ∂L/∂z_k[b][j] ·
        a[b][i]`` for an ``out_in`` text: δ aᵀ)."""
        i, j = index
        source, upstream = self.source(k), self.upstream(k)
        order = slice(None, None, -1 if self.arch.layout == "out_in" else 1)
        symbol = Mul([Value(0, Entry(source, ("b", i))), Value(0, Entry(upstream, ("b", j)))][order])
        expression = self._over_examples(lambda b: Mul([self.q(source, b, i), self.q(upstream, b, j)][order]), symbol)
        return Entry(f"dL/dW{k}", self.arch.layout_index(f"dL/dW{k}", index)), expression

    def bias_gradient(self, k: int, index: tuple):
        """∂L/∂b_k[j] = Σ_b ∂L/∂z_k[b][j]; for a bias shared by the layer, the sum over
        its neurons too: ∂L/∂b_k = Σ_j ∂L/∂z_k[j] (Σ_b Σ_j for a batch)."""
        upstream = self.upstream(k)
        if not index:  # one bias shared by the layer's neurons: every neuron's ∂L/∂z adds to it
            n = self.arch.sizes[k]
            variables, symbol = (("j",), ("j",)) if self.batch == 1 else (("b", "j"), ("b", "j"))
            terms = Add(Terms(self.batch * n, lambda t: self.q(upstream, *divmod(t, n))))
            return Entry(f"dL/db{k}"), Shown(Sigma(variables, Entry(upstream, symbol)), terms)
        (j,) = index
        expression = self._over_examples(lambda b: self.q(upstream, b, j), Entry(upstream, ("b", j)))
        return Entry(f"dL/db{k}", index), expression

    def to_previous_layer(self, k: int, index: tuple):
        """∂L/∂a_{k−1}[i] = W_k[i,:]·∂L/∂z_k = Σ_j W_k[i][j] · ∂L/∂z_k[j] (``W_k[:,i]`` for
        an ``out_in`` text, its Wᵀ δ)."""
        b, i = self._example(index)
        weights, upstream = f"W{k}", self.upstream(k)
        products = Terms(self.arch.sizes[k], lambda j: Mul([self.parameter(weights, i, j), self.q(upstream, b, j)]))
        dot = Dot(self.weights(k, (i, ":")), Entry(upstream, () if self.batch == 1 else (b,)))
        return Entry(f"dL/d{quantities.hidden_name(k - 1, self.n)}", index), Shown(dot, Add(products))

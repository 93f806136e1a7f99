"""Did-you-mean (difflib.get_close_matches) in the one-line error for an unknown key,
activation, loss, quantity name or grading key of an exercise file, and for an unknown
subcommand or option of the command line (exit status 2, one line on stderr)."""
import pytest

from compare.cli import main
from reference.exercise import CHAPTER7_PATH, did_you_mean, one_of


def test_did_you_mean_names_the_closest_choice_or_nothing():
    assert did_you_mean("sigmod", ["relu", "sigmoid", "tanh"]) == "; did you mean 'sigmoid'?"
    assert did_you_mean("zzz", ["relu", "sigmoid"]) == ""
    assert did_you_mean(3, ["relu"]) == ""  # a TOML number where a name belongs
    assert one_of("mse2", ["mse", "sse"]) == "one of mse, sse; did you mean 'mse'?"


@pytest.mark.parametrize("old, new, expected", [
    ('title = "', 'titel = "', "titel: expected one of after, answers, claims, errata, examples, grading, network, "
                               "parameters, source, title, training, variants; did you mean 'title'?"),
    ('loss = "mse"', 'los = "mse"', "network.los: expected one of sizes, activations, loss, reduction, "
                                    "negative_slope, bias, shared_bias, layout; did you mean 'loss'?"),
    ('loss = "mse"', 'loss = "mes"', "network.loss: expected one of mse, sse, sum_squares, bce, bce_with_logits, "
                                     "cross_entropy; did you mean 'mse'?"),
    ('loss = "mse"', 'loss = "sum_square"', "did you mean 'sum_squares'?"),
    ('activations = ["relu", "identity"]', 'activations = ["relu", "identiy"]',
     "network.activations[1]: expected one of relu, leaky_relu, sigmoid, tanh, identity; did you mean 'identity'?"),
    ('reduction = "mean"', 'reduction = "men"', "network.reduction: expected one of mean, sum; did you mean 'mean'?"),
    ('"dL/dy_hat" =', '"dL/dyhat" =', "answers.dL/dyhat: expected a quantity of this network: z1, h, y_hat, L, "
                                      "dL/dy_hat,"),
    ('"dL/dy_hat" =', '"dL/dyhat" =', "; did you mean 'dL/dy_hat'?"),
    ("[claims]", "[claims]\nnonzero_gradient = 11", "claims.nonzero_gradient: expected one of nonzero_gradients,"),
    ("[parameters]", "[parameters]\nW22 = [[1]]", "parameters.W22: expected one of W1, b1, W2, b2 for sizes "
                                                   "[4, 3, 4]; did you mean 'W2'?"),
])
def test_unknown_names_in_a_file(chapter7_variant, capsys, old, new, expected):
    path = chapter7_variant(old, new)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and expected in err


def test_unknown_grading_key_and_points_name(chapter7_variant, capsys):
    path = chapter7_variant("[claims]", "[grading]\nrtoll = 0.01\n[claims]")
    assert main([str(path)]) == 2
    assert "grading.rtoll: expected one of rtol, sig_figs, points, carried_errors_lose_points; did you mean 'rtol'?" \
        in capsys.readouterr().err
    path = chapter7_variant("[claims]", '[grading.points]\n"dL/dW22" = 1\n[claims]', "points.toml")
    assert main([str(path)]) == 2
    assert "did you mean 'dL/dW2'?" in capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["trian"], "'trian': neither a subcommand (check, grade, train, plot, answer-key, self-test, gradescope, "
                     "variant) "
                "nor an exercise file; did you mean 'train'?"),
    (["self_test"], "did you mean 'self-test'?"),
    (["answer_key"], "did you mean 'answer-key'?"),
    (["train", "--lrr", "0.5"], "unrecognized arguments: --lrr; did you mean '--lr'?"),
    (["--jsn"], "unrecognized arguments: --jsn; did you mean '--json'?"),
    (["check", "--fdd"], "did you mean '--fd'?"),
    (["train", "--frieze", "b1"], "did you mean '--freeze'?"),
    (["grade", "x.py", "--timout", "3"], "did you mean '--timeout'?"),
    (["answer-key", "--formt", "html"], "unrecognized arguments: --formt; did you mean '--format'?"),
])
def test_unknown_subcommand_or_option(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err


def test_no_suggestion_when_nothing_is_close_and_a_missing_file_stays_a_missing_file(capsys):
    assert main(["check", "--zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzzzzz" in err and "did you mean" not in err
    assert main(["no-such-file.toml"]) == 2
    assert "expected an existing exercise file; there is none" in capsys.readouterr().err
    assert main([str(CHAPTER7_PATH)]) == 0


def test_a_name_that_differs_only_in_case_is_suggested(capsys):
    assert did_you_mean("w1", ["W1", "b1", "W2", "b2"]) == "; did you mean 'W1'?"  # difflib alone: no match
    assert main(["train", "--freeze", "w1"]) == 2
    err = capsys.readouterr().err
    assert err == ("python -m compare: error: --freeze: expected parameter names, each of W1, b1, W2, b2; "
                   "'w1' is not one; did you mean 'W1'?\n")
    assert main(["train", "--freeze", "b1", "--steps", "1"]) == 0  # a right name still freezes

from compare.cli import run

run()

"""``quant operator`` is registered and parses its options."""

from __future__ import annotations

from quant.cli import COMMANDS, build_parser


def test_quant_operator_command_is_registered_with_its_options() -> None:
    assert COMMANDS["operator"] == "quant_operator.cli"
    args = build_parser().parse_args(["operator", "--standalone", "--namespace", "trading"])
    assert args.standalone is True and args.namespace == "trading" and args.liveness is None
    assert callable(args.func)

"""``wachtlijst sample`` and ``wachtlijst demo``: a generated round, and one whole round shown end
to end as every reader sees it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import app, out
from flows.cli.rounds import print_summary, run_round


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for input/, config.toml and truth/.")],
    entries: Annotated[int, typer.Option(help="About how many entries.")] = 5000,
    providers: Annotated[int, typer.Option(help="How many providers.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20261101,
) -> None:
    """Generate a realistic round of provider extracts with its ground truth."""
    from sample_data.generate import RoundSpec, generate_round

    generated = generate_round(out_dir, RoundSpec(entries=entries, providers=providers, seed=seed))
    out.print(f"extracts in {generated.input_dir}, config {generated.config_file}, truth in {generated.truth_dir}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Scratch folder (emptied first).")] = Path("demo"),
    entries: Annotated[int, typer.Option(help="About how many entries.")] = 5000,
    rounds: Annotated[
        int,
        typer.Option(
            min=1,
            max=12,
            help="1: one round with bad rows and files on purpose; 2 or more: consecutive monthly rounds "
            "(ending 2026-11) with provider feedback in between, showing the trend columns.",
        ),
    ] = 1,
) -> None:
    """Generate sample data and keys in a scratch folder and run a round on them end to end."""
    if folder.exists():
        shutil.rmtree(folder)
    round_id = "2026-11"
    inputs, providers, config_file, truth = generate_demo_rounds(folder, entries, rounds, round_id)
    key_file, recipients, provider_keys = make_demo_keys(folder, providers)
    output = folder / "output"
    for each_round, input_dir in inputs.items():
        summary = run_round(input_dir=input_dir, output_dir=output, round_id=each_round, key_file=key_file,
                            config_file=config_file, recipients=recipients, reference_date=None)  # fmt: skip
        print_summary(summary, output / each_round)
    first = providers[0]
    signer = output / round_id / "providers" / "ondertekening.pub"
    opened = open_package_as_provider(output / round_id / "providers" / first, provider_keys / f"{first}.key",
                                      signer, folder / "provider_view" / first)  # fmt: skip
    round_dir = output / round_id
    out.print(
        "\n".join(
            [
                "",
                "open in a browser or Excel:",
                f"  insurer report:       {round_dir / 'insurers' / 'national.html'} (+ .xlsx; one per UZOVI too)",
                f"  operator summary:     {round_dir / 'run_summary.html'}",
                f"  provider {first}:    {opened} (decrypted here as the provider would)",
                f"audit log:              {output / 'audit.jsonl'}",
                f"open as the provider:   age -d -i {provider_keys / first}.key -o pakket.zip "
                f"{round_dir / 'providers' / first / (round_id + '.age')}",
                f"  or, checking the TTP's signature: {Path(sys.argv[0]).as_posix()} decrypt --key "
                f"{provider_keys / first}.key --signer {signer} --out DIR {round_dir / 'providers' / first}",
                f"ground truth:           {truth}",
                "two providers have no key on purpose: see 'undelivered' in the summary",
                *(
                    ["rounds over time: wachtlijst demo --rounds 3 (trend columns, provider feedback)"]
                    if rounds == 1
                    else [
                        f"rounds {', '.join(inputs)} with provider feedback in {folder / 'inbox'}/<round>/terugmelding"
                    ]
                ),
            ]
        )
    )


def generate_demo_rounds(
    folder: Path, entries: int, rounds: int, round_id: str
) -> tuple[dict[str, Path], list[str], Path, Path]:
    """Generate the demo's round (sender folders and a registry) or its monthly rounds ending with
    ``round_id``; return (input folder per round, providers, configuration file, truth)."""
    from sample_data.generate import RoundSpec, generate_round
    from sample_data.rounds import generate_rounds

    if rounds == 1:
        generated = generate_round(folder, RoundSpec(entries=entries, sender_folders=True, registry=True))
        return {round_id: generated.input_dir}, generated.providers, generated.config_file, generated.truth_dir
    round_ids = [f"{2026 - (m < 0)}-{m % 12 + 1:02d}" for m in range(11 - rounds, 11)]
    series = generate_rounds(folder, round_ids, RoundSpec(entries=entries))
    return {r: series.inbox / r for r in round_ids}, series.providers, series.config_file, folder / "truth_rounds.json"


def make_demo_keys(folder: Path, providers: list[str]) -> tuple[Path, Path, Path]:
    """Create the TTP key and an age key pair for every provider but the last two (left without
    on purpose), pinned; return (TTP key file, recipients folder, providers' private keys)."""
    from hashing.keys import create_key_file
    from reports.recipients import create_age_keys, pin_recipients

    key_file = folder / "keys" / "ttp.key"
    create_key_file(key_file)
    provider_keys = folder / "provider_keys"
    recipients = folder / "recipients"
    for agb in providers[:-2]:
        public_path, _ = create_age_keys(agb, provider_keys)
        recipients.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(public_path, recipients / public_path.name)
    pin_recipients(recipients)
    return key_file, recipients, provider_keys


def open_package_as_provider(package: Path, private_key: Path, signer: Path, target: Path) -> Path:
    """Open and verify a provider's delivery into ``target`` (the demo plays the provider);
    return ``target``."""
    from reports.packages import load_signer, open_delivery, write_files

    write_files(open_delivery(package, private_key, load_signer(signer)).files, target)
    return target

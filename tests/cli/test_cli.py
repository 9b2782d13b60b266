"""The command line, as a user would script it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from embedspace.cli import app

runner = CliRunner()


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_add_search_info_sync(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Refunds are paid back within 30 days.")
    (folder / "b.txt").write_text("Parcels are shipped every weekday.")
    space = str(tmp_path / "s.space")

    result = runner.invoke(app, ["add", space, str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[-1]["added"] == 2

    result = runner.invoke(app, ["search", space, "I want my money back", "--k", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[0]["id"] == "a.txt"

    result = runner.invoke(
        app, ["search", space, "shipped", "--mode", "sparse", "--where", "path=b.txt", "--json"]
    )
    assert [r["id"] for r in _json_lines(result.output)] == ["b.txt"]

    (folder / "b.txt").unlink()
    result = runner.invoke(app, ["sync", space, str(folder), "--json"])
    summary = _json_lines(result.output)[-1]
    assert {k: summary[k] for k in ("added", "updated", "deleted", "unchanged")} == {
        "added": 0,
        "updated": 0,
        "deleted": 1,
        "unchanged": 1,
    }

    result = runner.invoke(app, ["info", space, "--json"])
    assert _json_lines(result.output)[0]["items"] == 1


def test_table_options_and_errors(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("key,body\nk1,hello there\n")
    space = str(tmp_path / "s.space")
    result = runner.invoke(
        app, ["add", space, str(csv_path), "--text-field", "body", "--id-field", "key", "--json"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["add", space, str(csv_path), "--text-field", "nope"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    result = runner.invoke(app, ["search", str(tmp_path / "missing.space"), "x"])
    assert result.exit_code == 1
    assert not (tmp_path / "missing.space").exists()


def test_embed_and_help():
    result = runner.invoke(app, ["embed", "hello world", "--json"])
    row = _json_lines(result.output)[0]
    assert row["dim"] == 384 and len(row["embedding"]) == 384
    for command in ("add", "sync", "search", "info", "embed", "demo", "eval"):
        assert runner.invoke(app, [command, "--help"]).exit_code == 0


def test_words_and_classify_commands():
    result = runner.invoke(app, ["words", "analogy", "king", "man", "woman", "--json"])
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[0]["word"] == "queen"

    result = runner.invoke(app, ["words", "similar", "qwzxvplk"])
    assert result.exit_code == 1 and "not among" in result.output

    result = runner.invoke(
        app, ["classify", "I love my new puppy", "-l", "a dog", "-l", "a car", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in _json_lines(result.output)] == ["a dog", "a car"]


def test_add_images_then_search_them_with_words(tmp_path):
    from skimage import data, io

    io.imsave(tmp_path / "cat.png", data.chelsea(), check_contrast=False)
    io.imsave(tmp_path / "coffee.png", data.coffee(), check_contrast=False)
    space = str(tmp_path / "s.space")
    result = runner.invoke(app, ["add-images", space, str(tmp_path / "*.png"), "--json"])
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[-1]["added"] == 2
    result = runner.invoke(app, ["search", space, "espresso", "--k", "1", "--json"])
    assert _json_lines(result.output)[0]["id"] == "coffee.png"
    result = runner.invoke(
        app, ["classify", str(tmp_path / "cat.png"), "-l", "a cat", "-l", "a car", "--json"]
    )
    assert _json_lines(result.output)[0]["label"] == "a cat"


def test_models_lists_every_offline_encoder_with_its_size():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in _json_lines(result.output)}
    assert {
        "all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2-fp32",
        "glove-6b-50d",
        "conse-efficientnet-lite0",
    } <= set(rows)
    default = rows["all-MiniLM-L6-v2"]
    assert (default["dim"], default["max_tokens"], default["available"]) == (384, 256, True)
    assert 50 < default["size_mb"] < 70  # the shipped int8 graph + tokenizer
    assert rows["glove-6b-50d"]["dim"] == 50 and rows["glove-6b-50d"]["size_mb"] > 50
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0 and "Models available offline" in result.output


def test_reembed_and_search_using(tmp_path):
    space = str(tmp_path / "r.space")
    notes = tmp_path / "notes.txt"
    notes.write_text("a cat asleep on the sofa\n")
    assert runner.invoke(app, ["add", space, str(notes)]).exit_code == 0
    result = runner.invoke(app, ["reembed", space, "--model", "glove", "--keep-old", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["reembedded"] == 1 and report["model"] == "glove-6b-50d"
    assert report["kept_old"] == "all-MiniLM-L6-v2"
    found = runner.invoke(
        app, ["search", space, "kitten", "--using", "all-MiniLM-L6-v2", "--json", "--k", "1"]
    )
    assert found.exit_code == 0, found.output
    assert "cat asleep" in found.output
    refused = runner.invoke(app, ["reembed", space, "--model", "no-such-model"])
    assert refused.exit_code == 1 and "unknown model" in refused.output
    info = json.loads(runner.invoke(app, ["info", space, "--json"]).output)
    assert [v["dim"] for v in info["vectors"]] == [50, 384] and info["reembed"] is None

"""Text data: the per-fold vectorizer, the CSV and folder loaders with their errors, the built-in set."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import cross_val_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

from automl.data.text import OOV, PAD, TextVectorizer, builtin_text, load_text
from automl.errors import DataError

REVIEWS = [
    ("A wonderful, moving film with great acting", "pos"),
    ("Great story and a wonderful cast", "pos"),
    ("Loved it: moving and funny", "pos"),
    ("Dull plot, terrible acting", "neg"),
    ("A boring and terrible film", "neg"),
    ("Awful. Dull from start to end", "neg"),
]


# --------------------------------------------------------------------------- vectorizer
def test_vocabulary_comes_from_the_fit_rows_only() -> None:
    train = np.array(["the cat sat", "the cat ran", "a dog"], dtype=object)
    vectorizer = TextVectorizer(max_tokens=100, sequence_length=4).fit(train)

    # most frequent first (cat, the: twice), ties alphabetically; "a" is too short to be a token
    assert vectorizer.vocabulary_ == {"cat": 2, "the": 3, "dog": 4, "ran": 5, "sat": 6}
    ids = vectorizer.transform(np.array(["The CAT meowed", "zebra"], dtype=object))
    assert ids.dtype == np.float32 and ids.shape == (2, 4)
    # padded at the front; "meowed" and "zebra" were never seen in training: out of vocabulary
    np.testing.assert_array_equal(ids, [[PAD, 3, 2, OOV], [PAD, PAD, PAD, OOV]])


def test_max_tokens_caps_the_vocabulary_and_long_texts_keep_their_start() -> None:
    vectorizer = TextVectorizer(max_tokens=4, sequence_length=3).fit(["aa aa aa bb bb cc dd"])
    assert vectorizer.vocabulary_ == {"aa": 2, "bb": 3}  # 4 ids: pad, oov and two tokens
    np.testing.assert_array_equal(vectorizer.transform(["bb cc aa dd aa"]), [[3, OOV, 2]])


def test_vectorizer_pickles_with_its_vocabulary() -> None:
    vectorizer = TextVectorizer(max_tokens=10, sequence_length=5).fit(["red green blue", "green"])
    clone = pickle.loads(pickle.dumps(vectorizer))
    np.testing.assert_array_equal(clone.transform(["blue red"]), vectorizer.transform(["blue red"]))


# --------------------------------------------------------------------------- CSV
def write_csv(tmp_path, text: str, name: str = "reviews.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reviews_csv(tmp_path, header: str = "review,sentiment"):
    rows = "".join(f'"{text}",{label}\n' for text, label in REVIEWS)
    return write_csv(tmp_path, f"{header}\n{rows}")


def test_load_csv(tmp_path) -> None:
    dataset = load_text(reviews_csv(tmp_path), text_column="review", target="sentiment")

    assert (dataset.name, dataset.task, dataset.problem_type) == ("reviews", "text", "classification")
    assert dataset.classes == ["neg", "pos"]
    np.testing.assert_array_equal(dataset.y, [1, 1, 1, 0, 0, 0])
    assert dataset.X.dtype == object and dataset.X[0] == REVIEWS[0][0]
    distinct = {
        t for text, _ in REVIEWS for t in text.lower().replace(",", " ").replace(".", " ").split() if len(t) > 1
    }
    assert dataset.vocab_size == len(distinct) + 2
    vectorizer = pickle.loads(pickle.dumps(dataset.make_preprocessor))()
    assert vectorizer.sequence_length == 8  # short texts: the lower clip
    assert dataset.input_shape == (8,)
    assert dataset.make_preprocessor().fit(dataset.X, dataset.y).transform(dataset.X).max() < dataset.vocab_size


def test_csv_default_columns_are_text_and_label(tmp_path) -> None:
    dataset = load_text(reviews_csv(tmp_path, header="text,label"), text_column=None, target=None)
    assert dataset.classes == ["neg", "pos"]


def test_csv_numeric_labels_keep_their_type(tmp_path) -> None:
    rows = "".join(f'"{text}",{int(label == "pos")}\n' for text, label in REVIEWS)
    dataset = load_text(write_csv(tmp_path, f"text,label\n{rows}"), text_column=None, target=None)
    assert dataset.classes == [0, 1]


def test_csv_missing_column_names_the_columns_and_the_nearest(tmp_path) -> None:
    path = reviews_csv(tmp_path)
    with pytest.raises(DataError, match=r"no label column 'sentiments'.*--target.*review, sentiment.*'sentiment'"):
        load_text(path, text_column="review", target="sentiments")
    with pytest.raises(DataError, match=r"no text column 'text' \(choose it with --text-column\)"):
        load_text(path, text_column=None, target="sentiment")


def test_csv_empty_texts_are_named_by_line(tmp_path) -> None:
    path = write_csv(tmp_path, 'text,label\n"good film",pos\n"",neg\n"   ",neg\n"fine",pos\n')
    with pytest.raises(DataError, match=r"2 row\(s\) have an empty 'text' \(lines 3, 4\)"):
        load_text(path, text_column="text", target="label")


def test_csv_missing_labels(tmp_path) -> None:
    path = write_csv(tmp_path, 'text,label\n"good film",pos\n"bad film",\n')
    with pytest.raises(DataError, match=r"1 row\(s\) have an empty 'label' \(lines 3\)"):
        load_text(path, text_column="text", target="label")


def test_ragged_csv_reports_the_line(tmp_path) -> None:
    path = write_csv(tmp_path, "text,label\ngood,pos\nbad,neg,extra\n")
    with pytest.raises(DataError, match=r"reviews.csv: cannot parse the CSV: .*line 3, saw 3"):
        load_text(path, text_column="text", target="label")


def test_empty_and_non_utf8_csv(tmp_path) -> None:
    with pytest.raises(DataError, match="the CSV file is empty"):
        load_text(write_csv(tmp_path, ""), text_column=None, target=None)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("text,label\ncaf\xe9 au lait,pos\nthe,neg\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.csv: not UTF-8 text"):
        load_text(latin1, text_column=None, target=None)


def test_single_class_csv(tmp_path) -> None:
    path = write_csv(tmp_path, "text,label\ngood film,pos\nfine film,pos\n")
    with pytest.raises(DataError, match="every text has the label 'pos'.*at least two classes"):
        load_text(path, text_column=None, target=None)


def test_missing_path(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_text(tmp_path / "nope.csv", text_column=None, target=None)


# --------------------------------------------------------------------------- folder of class sub-folders
def make_folder(root, files: dict[str, bytes]):
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def test_load_folder(tmp_path) -> None:
    files = {f"{label}/{i}.txt": text.encode() for i, (text, label) in enumerate(REVIEWS)}
    files["pos/notes.md"] = b"not a .txt file: ignored"
    dataset = load_text(make_folder(tmp_path / "reviews", files), text_column=None, target=None)

    assert dataset.name == "reviews" and dataset.classes == ["neg", "pos"]
    assert len(dataset.X) == 6 and list(np.bincount(dataset.y)) == [3, 3]
    assert set(dataset.X[dataset.y == 1]) == {text for text, label in REVIEWS if label == "pos"}


def test_folder_skips_unreadable_files_with_one_warning(tmp_path) -> None:
    files = {f"{label}/{i}.txt": text.encode() for i, (text, label) in enumerate(REVIEWS)}
    files |= {f"neg/bad{i}.txt": b"\xff\xfe\xfa not utf-8" for i in range(4)}
    files["pos/empty.txt"] = b"  \n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_text(make_folder(tmp_path, files), text_column=None, target=None)

    assert len(caught) == 1
    message = str(caught[0].message)
    assert "skipped 5 empty, unreadable or non-UTF-8 file(s): neg/bad0.txt, neg/bad1.txt, neg/bad2.txt, ..." in message
    assert len(dataset.X) == 6


def test_empty_folder_and_single_class_folder(tmp_path) -> None:
    with pytest.raises(DataError, match="no class sub-folders"):
        load_text(tmp_path, text_column=None, target=None)
    make_folder(tmp_path, {"pos/a.txt": b"good", "pos/b.txt": b"great", "neg/c.txt": b"\xff"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            DataError, match=r"only the class 'pos' has readable .txt files \(2 sub-folder\(s\): neg, pos"
        ):
            load_text(tmp_path, text_column=None, target=None)


# --------------------------------------------------------------------------- built-in set
def test_builtin_text_is_real_deterministic_and_learnable() -> None:
    dataset = builtin_text()
    again = builtin_text()

    assert dataset.name == "stdlib-docs" and dataset.task == "text"
    assert dataset.classes == ["dates", "files", "maths", "network", "text"]
    assert 1000 <= len(dataset.X) <= 3000
    assert len(set(dataset.X)) == len(dataset.X)  # deduplicated
    assert min(len(text.split()) for text in dataset.X) >= 5
    assert min(np.bincount(dataset.y)) >= 100
    np.testing.assert_array_equal(dataset.X, again.X)
    np.testing.assert_array_equal(dataset.y, again.y)
    assert 8 <= dataset.input_shape[0] <= 256 and 1000 < dataset.vocab_size <= 20_000

    bag_of_words = make_pipeline(CountVectorizer(), MultinomialNB())
    accuracy = cross_val_score(bag_of_words, dataset.X, dataset.y, cv=3).mean()
    chance = np.bincount(dataset.y).max() / len(dataset.y)
    assert accuracy > chance + 0.25, (accuracy, chance)

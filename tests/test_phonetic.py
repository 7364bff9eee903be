"""The matcher's pinyin table, read from pypinyin's data without importing pypinyin."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from content.phonetic import readings, sound, sounds, sounds_like, split_pinyin, syllable_sound

ROOT = Path(__file__).resolve().parent.parent


def test_first_reading_is_what_pypinyin_gives_every_character_alone() -> None:
    differ = []
    for cp in range(0x3400, 0xA000):
        ch = chr(cp)
        ref = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
        want = ref[0] if ref and ref[0] else ch
        if readings(ch)[0] != want:
            differ.append((ch, want, readings(ch)))
    assert differ == []


def test_sound_codes_fold_typing_slips_and_keep_other_characters() -> None:
    assert sounds("底保") == sounds("低保")
    assert sounds("危方") == sounds("危房")
    assert sound("是") == sound("四")              # sh/s
    assert sound("农") == sound("龙")              # n/l
    assert sounds("低保") != sounds("低价")
    assert sounds("A1低")[:2] == "A1"


def test_polyphonic_names_match_either_reading() -> None:
    assert readings("重")[:2] == ("zhong", "chong")
    assert sounds_like("重庆", "我在崇庆村")
    assert sounds_like("青石", "清石村")
    assert not sounds_like("青石", "青山村")
    assert not sounds_like("青石", "石")
    assert sounds_like("青石", "绑定 qingshi") and sounds_like("重庆", "chongqing村")


def test_typed_letters_are_cut_into_syllables_or_refused() -> None:
    assert split_pinyin("dibao") == ["di", "bao"]
    assert split_pinyin("yanglaojin") == ["yang", "lao", "jin"]
    assert split_pinyin("xian") == ["xian"]              # the fewest syllables: 先, not 西安
    assert split_pinyin("jiehunzheng") == ["jie", "hun", "zheng"]
    for not_pinyin in ("wifi", "bb", "ok", "app", "sms"):
        assert split_pinyin(not_pinyin) is None, not_pinyin
    # a typed syllable sounds like the characters read so, slips folded the same way
    assert "".join(syllable_sound(x) for x in ("di", "bao")) == sounds("低保")
    assert syllable_sound("shi") == sound("四")


def test_the_web_app_does_not_load_pypinyin() -> None:
    """pypinyin's import loads its 55 MB phrase dictionary: a web worker must not pay for it."""
    code = ("import sys; import bot.app, content.villages, content.matcher; "
            "from content.phonetic import sounds; sounds('低保'); print('pypinyin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""Extractive summaries of one article and of a story, and what a follow-up adds, on real items."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from peacewatch.models import Article, Hit
from peacewatch.pipeline.story_summary import summarise_story, what_it_adds
from peacewatch.pipeline.summarise import clip, language_code, sentences, summarise
from peacewatch.watchers.text import html_to_text
from tests.helpers import samples_dir

SAMPLES = samples_dir()

# Verbatim from ../shared/samples/items.jsonl (keyed by the item id there).
ITEMS: dict[str, dict[str, str]] = {
    "85787952382a4e28": {
        "title": (
            "Ukraine war briefing: Russian strikes kill two and trigger hospital fire ahead of "
            "Paris peace talks"
        ),
        "summary": (
            "<p>Overnight attacks trigger evacuations ‘under fire’ at Kyiv medical facility "
            "while European leaders gather to seek peace plan breakthrough. What we know on "
            "day 1,413</p><p><strong>Russian strikes on Ukraine early on Monday killed two "
            "people and forced night-time evacuations into freezing temperatures, a day ahead "
            "of Ukrainian allies meeting in France</strong> to revive diplomatic efforts to "
            "stop the fighting. Donald Trump’s envoy Steve Witkoff and son-in-law Jared "
            "Kushner will attend the Paris meeting of the so-called “coalition of the willing” "
            "on Tuesday – being hosted by French president Emmanuel Macron – to discuss "
            "security guarantees as part of a <a "
            'href="https://www.theguardian.com/world/2025/dec/28/trump-zelenskyy-ta'
            'lks-amid-heavy-russian-airstrikes-on-ukraine">peace proposal</a>. Russia’s '
            "overnight strikes triggered a fire at a private medical facility in Kyiv, killing "
            "one person and wounding three others, authorities said. “Doctors and nurses were "
            "forced to evacuate the woun"
        ),
        "link": (
            "https://www.theguardian.com/world/2026/jan/06/ukraine-war-briefing-rus"
            "sian-strikes-kill-two-and-trigger-hospital-fire-ahead-of-paris-peace-talks"
        ),
        "published": "2026-01-06T01:26:56+00:00",
        "source_outlet": "The Guardian",
        "language": "en-US",
    },
    "5a26e861a49f5803": {
        "title": "Ukraine war briefing: 10% away from peace, Zelenskyy tells Ukrainians",
        "summary": (
            "<p>US intelligence officials persuade Donald Trump that Ukrainians did not target "
            "Putin with drones – reports. What we know on day 1,408</p><p><strong>Ukraine was "
            "“10%” away from a peace deal, Volodymyr Zelenskyy said on Wednesday</strong>, and "
            "his country wanted an end to the war but not at “any cost”. The Ukrainian "
            "president, in his New Year’s Eve address, said any agreement needed strong "
            "security guarantees. “The peace agreement is 90% ready, 10% remains. And that is "
            "far more than just numbers.”</p><p>As the Russian ruler, Vladimir Putin, pushes "
            "for full control of Ukraine’s eastern Donbas region as part of any deal, "
            "<strong>Zelenskyy said he did not believe Russia would stop there</strong>. “Pull "
            "out from the Donbas, and it will all be over. That is how deception sounds when "
            "translated from Russian – into Ukrainian, into English, into German, into French, "
            "and, in fact, into any language in the world.”</p><p><strong>Zelenskyy said he "
            "would not sign a “weak” peace agreement that wou"
        ),
        "link": (
            "https://www.theguardian.com/world/2026/jan/01/ukraine-war-briefing-10-"
            "away-from-peace-zelenskyy-tells-ukrainians"
        ),
        "published": "2026-01-01T01:53:17+00:00",
        "source_outlet": "The Guardian",
        "language": "en-UK",
    },
    "cc990ffb13bfbc96": {
        "title": "UK and France ‘ready to deploy troops’ to Ukraine after ceasefire",
        "summary": (
            "<p>Trilateral declaration of intent signed after ‘coalition of the willing’ "
            "summit in Paris with plan to establish military hubs</p><p>Britain and France "
            "have declared they are ready to deploy troops to Ukraine in the aftermath of a "
            "peace deal, a major new commitment that has been under discussion for months, "
            "although one which Russia is likely to block forcefully.</p><p>The announcement "
            "came after a summit in Paris hosted by the French president, Emmanuel Macron, and "
            "attended by more than two dozen leaders of the states that make up the “coalition "
            "of the willing” of Ukrainian allies, plus the US envoy Steve Witkoff and Donald "
            "Trump’s son-in-law Jared Kushner, who said the US president “strongly stands” "
            "behind the security protocols.</p> <a "
            'href="https://www.theguardian.com/world/2026/jan/06/uk-france-ready-to'
            '-deploy-troops-to-ukraine-after-ceasefire">Continue reading...</a>'
        ),
        "link": (
            "https://www.theguardian.com/world/2026/jan/06/uk-france-ready-to-deplo"
            "y-troops-to-ukraine-after-ceasefire"
        ),
        "published": "2026-01-06T20:26:09+00:00",
        "source_outlet": "The Guardian",
        "language": "en-US",
    },
    "4e030aa78a4d2aec": {
        "title": "Macron, Starmer, Zelenskyy sign Ukraine troop deployment pact | #ajshorts",
        "summary": (
            "France, the UK and Ukraine have signed a declaration of intent on deploying a "
            "multinational force after any ceasefire with Russia. The move came at a Paris "
            "meeting of Ukraine’s allies, aimed at reinforcing Kyiv’s future security and "
            "unity against Moscow.\n\nSubscribe to our channel: http://bit.ly/AJSubscribe\n"
            "Follow us on X : https://twitter.com/AJEnglish\nFind us on Facebook: "
            "https://www.facebook.com/aljazeera\nCheck our website: http://www.aljazeera.com/\n"
            "Check out our Instagram page: https://www.instagram.com/aljazeeraenglish/\n"
            "Download AJE Mobile App: https://aje.io/AJEMobile\n \n#aljazeera\n"
            "#aljazeeraenglish\n#aljazeeranewslive"
        ),
        "link": "https://www.youtube.com/shorts/ZxlxoI5RhTg",
        "published": "2026-01-06T20:27:57+00:00",
        "source_outlet": "YouTube channel feed",
        "language": "en",
    },
    "07ddb8eefc2e6d07": {
        "title": "Macron, Starmer, Zelenskyy sign Ukraine troop deployment pact",
        "summary": (
            "France, the UK and Ukraine signed a declaration of intent on deploying a "
            "multinational force after any ceasefire."
        ),
        "link": (
            "https://www.aljazeera.com/video/newsfeed/2026/1/6/macron-starmer-zelen"
            "skyy-sign-ukraine-troop-deployment-pact?traffic_source=rss"
        ),
        "published": "2026-01-06T20:34:19+00:00",
        "source_outlet": "Al Jazeera",
        "language": "en-US",
    },
    "a208540816cdf915": {
        "title": "UK and France to send troops to Ukraine if peace deal agreed",
        "summary": (
            "The announcement was made by UK PM Sir Keir Starmer after a meeting of Ukraine's "
            "allies in Paris."
        ),
        "link": "https://www.bbc.com/news/articles/c17zee20qpzo",
        "published": "2026-01-06T21:02:58+00:00",
        "source_outlet": "BBC News",
        "language": "en-US",
    },
    "a895732a77c39ef7": {
        "title": "Western Allies Agree Ukraine Guarantees After Paris 'Progress'",
        "summary": (
            "The security guarantees would see the U.S. lead a truce monitoring mechanism with "
            "European participation, France's Emmanuel Macron said."
        ),
        "link": (
            "https://www.themoscowtimes.com/2026/01/06/western-allies-agree-ukraine"
            "-guarantees-after-paris-progress-a91617"
        ),
        "published": "2026-01-06T21:16:06+00:00",
        "source_outlet": "The Moscow Times",
        "language": "en-us",
    },
    "57ae1556f9e5c1f0": {
        "title": "Ukraine: Western allies agree on key security guarantees in Paris",
        "summary": (
            "Following the largest yet meeting of the so-called Coalition of the Willing in "
            "Paris, European leaders and the US hailed progress. The security guarantees "
            "include a US-led monitoring mechanism and a European multinational force that "
            "would be deployed after a ceasefire in Russia's war against its neighbor."
        ),
        "link": (
            "https://www.lemonde.fr/en/international/article/2026/01/06/ukraine-wes"
            "tern-allies-agree-on-key-security-guarantees-in-paris_6749151_4.html"
        ),
        "published": "2026-01-06T21:47:00+00:00",
        "source_outlet": "Le Monde (English)",
        "language": "en-US",
    },
    "6fabe6ef82eb5aed": {
        "title": (
            "US agrees to ‘security protocols’ for Ukraine, UK and France commit to deploy "
            "troops after peace deal"
        ),
        "summary": (
            "The United States on Tuesday promised new “security protocols” that protect "
            "Ukraine from any Russian attack in the future, while the United Kingdom and "
            "France committed to deploying troops to the invaded nation if a peace deal is "
            "finalized. The developments came during a high-level meeting in Paris to resolve "
            "the nearly four-year war. Middle [&#8230;]"
        ),
        "link": (
            "https://www.washingtonexaminer.com/policy/defense/4408777/us-security-"
            "protocols-ukraine-uk-france-commit-to-deploy-troops-peace-deal"
        ),
        "published": "2026-01-06T22:14:42+00:00",
        "source_outlet": "Washington Examiner",
        "language": "en-US",
    },
    "39ab141a03e33f5d": {
        "title": "Talks on Ukraine guarantees to continue",
        "summary": (
            "PARIS (AFP) -- US and Ukrainian officials will continue talks over security "
            "guarantees for Kyiv Wednesday, both sides said, after meetings with Western "
            "allies yielded breakthroughs including a US-led monitoring mechanism and a "
            "European multinational force to be deployed after any ceasefire with Russia. "
            "Following the largest meeting yet of the so-called Coalition of the Willing in "
            "Paris, both European leaders and US envoys hailed progress that hid tensions in "
            "recent days over assertive US foreign"
        ),
        "link": "https://www.koreaherald.com/article/10650659",
        "published": "2026-01-07T02:46:08+00:00",
        "source_outlet": "The Korea Herald",
        "language": "en",
    },
    "33edace34b676dcd": {
        "title": "Europe and the US to pledge ‘legally binding’ security guarantees to Ukraine",
        "summary": (
            "Statement would be one of the strongest signs yet of U.S. commitment to Kyiv security."
        ),
        "link": (
            "https://www.politico.eu/article/united-states-europeans-ready-to-pledg"
            "e-legally-binding-security-guarantees-in-draft-statement"
        ),
        "published": "2026-01-06T16:27:37+00:00",
        "source_outlet": "POLITICO Europe",
        "language": "en-US",
    },
}

BRIEFING = "85787952382a4e28"  # Guardian "Ukraine war briefing", cut mid-word by the feed
BRIEFING_2 = "5a26e861a49f5803"
# One event, 2026-01-06: the Paris "coalition of the willing" summit, as nine outlets told it.
PARIS = [
    "cc990ffb13bfbc96",  # The Guardian
    "4e030aa78a4d2aec",  # Al Jazeera's YouTube channel
    "07ddb8eefc2e6d07",  # Al Jazeera: nearly the same sentence as its YouTube channel
    "a208540816cdf915",  # BBC News
    "a895732a77c39ef7",  # The Moscow Times
    "57ae1556f9e5c1f0",  # Le Monde: AFP copy
    "6fabe6ef82eb5aed",  # Washington Examiner
    "39ab141a03e33f5d",  # The Korea Herald: the same AFP copy, reworded
    "33edace34b676dcd",  # POLITICO Europe
]

# Hand-made: no archive held Ukrainian- or Russian-language items about the talks.
UKRAINIAN = (
    "Делегації України та США провели в Женеві новий раунд переговорів щодо мирного плану. "
    "За словами джерел, сторони обговорили гарантії безпеки та механізм моніторингу "
    "припинення вогню на лінії фронту. Секретар РНБО Рустем Умєров назвав зустріч "
    "конструктивною, але наголосив, що Україна не погодиться на жодні територіальні "
    "поступки. Наступну зустріч заплановано на кінець місяця, місце ще погоджують. Тим часом "
    "російські війська продовжили обстріли Харкова та Запоріжжя, внаслідок яких загинули "
    "троє людей і ще дванадцятеро дістали поранень. Експерти зазначають, що до підписання "
    "будь-якої угоди ще далеко, а позиції сторін щодо Донбасу залишаються несумісними."
)
RUSSIAN = (
    "В Стамбуле завершился очередной раунд переговоров делегаций России и Украины. "
    "Стороны договорились об обмене пленными в формате тысяча на тысячу. Глава российской "
    "делегации Владимир Мединский заявил, что меморандум о перемирии будет передан "
    "украинской стороне в течение недели. Украинская делегация назвала российские условия "
    "неприемлемыми и потребовала безусловного прекращения огня на тридцать дней."
)


def article(item_id: str) -> Article:
    item = ITEMS[item_id]
    return Article(
        id=item_id,
        title=item["title"],
        link=item["link"],
        published=datetime.fromisoformat(item["published"]),
        source=urlsplit(item["link"]).hostname or "",
        outlet=item["source_outlet"],
        summary=html_to_text(item["summary"]),
        lang=item["language"],
    )


def handmade(text: str, lang: str, title: str = "", id: str = "hand") -> Article:
    return Article(
        id=id,
        title=title,
        link=f"https://example.org/{id}",
        published=datetime.fromisoformat("2026-01-06T12:00:00+00:00"),
        source="example.org",
        summary=text,
        lang=lang,
    )


def hits(art: Article, *terms: str) -> list[Hit]:
    """Every occurrence of the terms, as the rules engine reports them."""
    out = []
    for term in terms:
        for field, text in (("title", art.title), ("body", art.body)):
            for m in re.finditer(re.escape(term), text, re.IGNORECASE):
                out.append(Hit(term, field, m.start(), m.end(), m.group()))
    return out


def sentence_count(text: str, lang: str | None = None) -> int:
    return len(sentences(text, lang))


def whole_words(summary: str, *sources: Article) -> bool:
    """Every word of the summary is a whole word of a source (an added full stop aside)."""
    words = set()
    for src in sources:
        words.update(src.body.split())
    return all(
        w in words or w.rstrip(".…") in words or w + "." in words
        for w in summary.replace("…", " ").split()
        if w
    )


def from_sources(summary: str, *sources: Article) -> bool:
    """Every sentence of the summary is a sentence of one of the sources."""
    flat = [" ".join(s.body.split()) for s in sources]
    return all(any(s.text.rstrip(".") in text for text in flat) for s in sentences(summary))


# -- one article --------------------------------------------------------------------------------


def test_guardian_briefing_gives_three_whole_sentences_within_600_chars() -> None:
    art = article(BRIEFING)
    summary = summarise(art)
    assert 0 < len(summary) <= 600
    assert sentence_count(summary) <= 3
    assert whole_words(summary, art) and from_sources(summary, art)
    assert (
        "evacuate the woun" not in summary
    )  # the feed cut the last sentence mid-word: never shown
    assert "What we know on day" not in summary  # the briefing's furniture line


def test_sentences_with_matched_terms_are_preferred() -> None:
    art = article(BRIEFING)
    plain = summarise(art)
    assert "Witkoff" not in plain
    matched = summarise(art, hits(art, "Witkoff", "coalition of the willing"))
    assert "Steve Witkoff and son-in-law Jared Kushner will attend" in matched
    assert len(matched) <= 600 and sentence_count(matched) <= 3
    assert from_sources(matched, art)


def test_limits_are_kept_for_smaller_budgets() -> None:
    art = article(BRIEFING_2)
    for max_sentences, max_chars in ((1, 600), (2, 300), (3, 200), (3, 80)):
        summary = summarise(art, hits(art, "Donbas"), max_sentences, max_chars)
        assert len(summary) <= max_chars
        assert sentence_count(summary) <= max_sentences
        assert whole_words(summary, art)


def test_a_standfirst_without_full_stop_does_not_run_into_the_next_sentence() -> None:
    art = article("cc990ffb13bfbc96")
    summary = summarise(art)
    assert "military hubs Britain" not in summary
    assert "Continue reading" not in summary


def test_links_and_channel_furniture_are_left_out() -> None:
    art = article("4e030aa78a4d2aec")  # a YouTube description with subscribe links and hashtags
    summary = summarise(art, max_sentences=3)
    assert summary.startswith("France, the UK and Ukraine have signed a declaration")
    assert "http" not in summary and "#" not in summary and "Subscribe" not in summary


def test_a_ukrainian_text_stays_ukrainian() -> None:
    art = handmade(UKRAINIAN, "uk", title="У Женеві тривають переговори")
    assert len(UKRAINIAN) > 600
    summary = summarise(art, hits(art, "Умєров"))
    assert len(summary) <= 600 and sentence_count(summary, "uk") <= 3
    assert not re.search(r"[A-Za-z]", summary)
    assert "Рустем Умєров назвав зустріч конструктивною" in summary
    assert from_sources(summary, art) and whole_words(summary, art)


def test_a_russian_text_stays_russian() -> None:
    art = handmade(RUSSIAN, "ru-RU", title="Переговоры в Стамбуле")
    summary = summarise(art, hits(art, "меморандум"), max_sentences=2, max_chars=300)
    assert len(summary) <= 300 and sentence_count(summary, "ru") <= 2
    assert "меморандум о перемирии" in summary
    assert not re.search(r"[A-Za-z]", summary)


def test_empty_body_gives_empty_summary() -> None:
    assert summarise(handmade("", "en", title="Headline only")) == ""


def test_language_tags_are_read_by_their_primary_subtag() -> None:
    assert language_code("en-US") == "en"
    assert language_code("uk_UA") == "uk"
    assert language_code(None) == "en"


@given(
    st.lists(st.text(alphabet="abcdeфыва", min_size=1, max_size=12), min_size=1, max_size=40),
    st.integers(min_value=2, max_value=120),
)
def test_clip_never_cuts_a_word(words: list[str], limit: int) -> None:
    text = " ".join(words)
    out = clip(text, limit)
    assert len(out) <= limit
    if out.endswith("…") and len(words[0]) < limit - 1:
        kept = out[:-1].split()
        assert kept == words[: len(kept)]


@given(
    st.text(
        alphabet=st.sampled_from(list("ab c.é\t\n\r\x1f\x85\xa0\xad\u2003\u3000")), max_size=40
    ),
    st.integers(min_value=0, max_value=60),
)
def test_clip_collapses_every_kind_of_white_space(text: str, limit: int) -> None:
    # white space of any kind, doubled or at either end, is one plain space or none, whether
    # or not the text needs cutting
    collapsed = " ".join(text.split())
    out = clip(text, limit)
    if len(collapsed) <= limit:
        assert out == collapsed
    else:
        assert len(out) <= limit and out == clip(collapsed, limit)


# -- a story ------------------------------------------------------------------------------------


def paris() -> list[Article]:
    return [article(i) for i in PARIS]


def test_story_summary_has_no_near_identical_sentences() -> None:
    story = paris()
    summary = summarise_story(story)
    parts = [s.text for s in sentences(summary)]
    assert 1 <= len(parts) <= 3 and len(summary) <= 600
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert fuzz.token_set_ratio(a, b) < 85, (a, b)
    assert from_sources(summary, *story) and whole_words(summary, *story)
    # the same AFP copy (Le Monde, The Korea Herald) and Al Jazeera's two versions: once each
    assert summary.count("Following the largest") <= 1
    assert summary.count("declaration of intent on deploying a multinational force") <= 1


def test_story_summary_draws_on_several_outlets() -> None:
    story = paris()
    summary = summarise_story(story)
    used = {
        a.id
        for a in story
        for s in sentences(summary)
        if s.text.rstrip(".") in " ".join(a.body.split())
    }
    assert len(used) >= 2


def test_story_summary_prefers_matched_terms() -> None:
    story = paris()
    guardian = story[0]
    assert "Witkoff" not in summarise_story(story)
    summary = summarise_story(story, {guardian.id: hits(guardian, "Witkoff")})
    assert "Steve Witkoff" in summary and len(summary) <= 600


def test_story_of_one_article_and_of_none() -> None:
    art = article(BRIEFING)
    one = summarise_story([art])
    assert one and len(one) <= 600 and from_sources(one, art)
    assert summarise_story([]) == ""


# -- what a follow-up adds -----------------------------------------------------------------------


def test_a_follow_up_that_repeats_the_story_adds_nothing() -> None:
    youtube, aljazeera = article("4e030aa78a4d2aec"), article("07ddb8eefc2e6d07")
    assert what_it_adds(aljazeera, [youtube]) == ""
    guardian = article("cc990ffb13bfbc96")
    syndicated = dataclasses.replace(guardian, id="copy", source="syndicated.example")
    assert what_it_adds(syndicated, [guardian]) == ""
    # the article itself among the earlier ones is not compared with itself
    assert what_it_adds(guardian, [guardian]) == what_it_adds(guardian, []) != ""


def test_a_follow_up_adds_only_what_is_new() -> None:
    earlier = [article(i) for i in ("cc990ffb13bfbc96", "07ddb8eefc2e6d07", "57ae1556f9e5c1f0")]
    korea = article("39ab141a03e33f5d")
    adds = what_it_adds(korea, earlier)
    assert "will continue talks over security guarantees for Kyiv Wednesday" in adds
    assert "Following the largest" not in adds  # Le Monde already carried that AFP sentence
    assert len(adds) <= 300 and whole_words(adds, korea)


def test_what_it_adds_keeps_to_its_budget() -> None:
    earlier = [article("a208540816cdf915")]
    examiner = article("6fabe6ef82eb5aed")
    for limit in (300, 120):
        adds = what_it_adds(examiner, earlier, max_chars=limit)
        assert adds and len(adds) <= limit and whole_words(adds, examiner)


def test_what_a_ukrainian_follow_up_adds() -> None:
    first = handmade(UKRAINIAN, "uk", id="first")
    extra = "Президент Зеленський доручив підготувати пропозиції щодо обміну полоненими."
    later = handmade(UKRAINIAN.split(". ")[0] + ". " + extra, "uk", id="later")
    assert what_it_adds(later, [first]) == extra


# -- every complete sample item -----------------------------------------------------------------


def test_every_sample_summary_keeps_the_limits() -> None:
    path = SAMPLES / "items.jsonl"
    if not path.exists():
        pytest.skip(f"the sample archive is not present at {SAMPLES} (set PEACEWATCH_SAMPLES)")
    checked = 0
    for line in path.read_text(encoding="utf-8").splitlines()[:400]:
        item = json.loads(line)
        if not item.get("summary"):
            continue
        art = handmade(html_to_text(item["summary"]), item.get("language") or "en",
                       title=item.get("title") or "")  # fmt: skip
        summary = summarise(art)
        assert len(summary) <= 600 and sentence_count(summary, art.lang) <= 3, item["id"]
        assert whole_words(summary, art), item["id"]
        checked += 1
    assert checked > 100


def test_a_story_summary_says_a_fact_once_however_many_outlets_word_it() -> None:
    # CBC, POLITICO and the New York Times on Freeland's appointment (golden_items.jsonl)
    path = Path(__file__).parent / "data" / "golden_items.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    freeland = [
        Article(
            id=str(item["id"]),
            title=item["title"],
            link=item["link"],
            published=datetime.fromisoformat(item["date_published"]),
            source=urlsplit(item["link"]).hostname or "",
            summary=html_to_text(item["description"]),
        )
        for item in items
        if "freeland" in item["link"] and "spiegel" not in item["link"]
    ]
    assert len(freeland) >= 4
    summary = summarise_story(freeland)
    assert len(re.findall(r"appointed", summary)) <= 2, summary
    assert summary.count("Zelenskyy said on X Monday") + summary.count("says he has appointed") <= 1

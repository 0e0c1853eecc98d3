"""The document templates of workflows/documents: each typesets its example into a PDF that reads
back with every element it must carry, with subset Chinese fonts embedded; a template that does not
compile is refused at deploy with its file and line."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.definitions import SourceFile
from engine.errors import DefinitionInvalid
from engine.templates import compile_templates, shared_typesetter

DOCUMENTS = Path(__file__).resolve().parent.parent / "workflows" / "documents"
KEYS = sorted(p.name.removesuffix(".document.json") for p in DOCUMENTS.glob("*.document.json"))
# What each document must say, beyond its title and number (the agreement: People's Mediation Law art. 29).
MUST_SAY = {
    "agreement": ["当事人基本情况", "申请人：张某", "被申请人：李某", "纠纷主要事实、争议事项及各方责任", "负主要责任",
                  "协议内容", "赔偿申请人损失1,200元", "履行方式", "现金或转账", "履行期限", "2026年3月15日前履行完毕",
                  "人民调解员签名并加盖人民调解委员会印章之日起生效", "当事人各执一份", "宋埠镇杨家湾村人民调解委员会（印章）"],
    "notice": ["当事人的权利", "选择或者接受人民调解员", "当事人的义务", "个人信息保护", "张某、李某"],
    "session_record": ["调解时间", "2026年3月5日", "调解经过", "双方同意共同出资清理", "本次调解结果", "达成协议"],
    "revisit_record": ["回访方式", "上门", "当事人满意度", "满意", "双方关系缓和"],
    "whistle_order": ["吹哨事项", "宅基地界址争议", "主办部门", "市自然资源和规划局", "请求事项", "到场查阅确权资料并释明"],
    "jc_application": ["请求事项", "请求人民法院确认", "杨家湾〔2026〕调字第0001号", "事实和理由", "第三十三条",
                       "麻城市人民法院"],
    "case_file": ["卷内目录", "案件基本情况", "办理过程记录", "备考表", "登记立案"],
}


def flat(pdf: bytes) -> str:
    """The PDF's text with all white space removed (Typst spaces Chinese from Latin and digits)."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def embedded_fonts(pdf: bytes) -> dict[str, str]:
    """Font name → the stream that embeds it (FontFile, FontFile2 or FontFile3)."""
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = next(k for k in ("/FontFile", "/FontFile2", "/FontFile3")
                                                 if k in descriptor)
    return fonts


@pytest.fixture(scope="module")
def templates():
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(DOCUMENTS.iterdir())]
    compiled, issues = compile_templates(files, [], shared_typesetter())
    assert issues == []
    return {t.key: t for t in compiled}


def test_every_template_is_described_and_compiles(templates):
    assert set(templates) == set(KEYS) == set(MUST_SAY)


@pytest.mark.parametrize("key", KEYS)
def test_each_template_prints_its_title_number_and_required_elements(templates, key):
    template = templates[key]
    example = template.meta["example"]
    text = flat(shared_typesetter().typeset(template, example))
    assert re.sub(r"\s+", "", template.title) in text
    assert example["document"]["number"] in text
    assert f"核验码{example['document']['verify_code']}" in text
    assert re.search(r"第1页共\d+页", text)
    for phrase in MUST_SAY[key]:
        assert re.sub(r"\s+", "", phrase) in text, (key, phrase)


def test_fonts_are_embedded_as_subsets(templates):
    fonts = embedded_fonts(shared_typesetter().typeset(templates["agreement"], templates["agreement"].meta["example"]))
    assert any("NotoSerifSC" in name for name in fonts) and any("NotoSansSC" in name for name in fonts)
    for name, stream in fonts.items():
        assert re.match(r"^/[A-Z]{6}\+", name), f"{name} is not a subset"  # ABCDEF+Name: subset tag
        assert stream in ("/FontFile2", "/FontFile3")


def test_a_template_that_fails_to_compile_is_refused_with_its_line(svc):
    meta = (DOCUMENTS / "notice.document.json").read_bytes()
    broken = b'#import "common.typ": *\n#show: document-page\n#title-block()\n#field("x"\n'
    files = [SourceFile("notice.document.json", meta), SourceFile("notice.typ", broken),
             SourceFile("common.typ", (DOCUMENTS / "common.typ").read_bytes())]
    with pytest.raises(DefinitionInvalid) as refused, svc.db.write() as session, session.begin():
        svc.registry.deploy(session, files, "designer", svc.clock.now())
    [issue] = refused.value.issues
    assert issue.file == "notice.typ" and issue.line == 4, issue
    assert "does not compile" in issue.message


def test_packages_from_the_web_and_unknown_keys_are_refused(svc):
    meta = (DOCUMENTS / "notice.document.json").read_bytes()
    fetching = b'#import "@preview/tiaoma:0.2.0": qrcode\nHello\n'
    with pytest.raises(DefinitionInvalid) as refused, svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("notice.document.json", meta), SourceFile("notice.typ", fetching)],
                            "designer", svc.clock.now())
    assert [(i.file, i.line) for i in refused.value.issues] == [("notice.typ", 1)]
    bad_meta = b'{"title": "x", "example": {}}'
    with pytest.raises(DefinitionInvalid) as refused, svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("x.document.json", bad_meta), SourceFile("x.typ", b"Hi")],
                            "designer", svc.clock.now())
    assert "number_word" in refused.value.issues[0].message


def test_a_step_naming_an_unknown_template_is_refused_at_deploy(svc, library):
    bpmn = (DOCUMENTS.parent / "bpmn" / "village_mediation.bpmn").read_text(encoding="utf-8")
    changed = bpmn.replace('value="agreement:signed"', 'value="agreement:stamped"').replace(
        'name="documents" value="agreement"', 'name="documents" value="agreemnt"')
    with pytest.raises(DefinitionInvalid) as refused, svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("village_mediation.bpmn", changed.encode())], "designer",
                            svc.clock.now())
    messages = [(i.element_id, i.message) for i in refused.value.issues]
    assert ("sign", "document template 'agreemnt' is not in the bundle nor deployed") in messages
    assert any(element == "sign" and "key:signed" in message for element, message in messages)


def test_templates_are_versioned_like_forms(svc, library):
    common = (DOCUMENTS / "common.typ").read_bytes()
    with svc.db.write() as session, session.begin():
        again = svc.registry.deploy(session, [SourceFile("common.typ", common)], "designer", svc.clock.now())
        changed = svc.registry.deploy(session, [SourceFile("common.typ", common + b"\n// a comment\n")], "designer",
                                      svc.clock.now())
    assert not any(d.created for d in again)  # unchanged: no new versions
    assert sorted(d.key for d in changed) == sorted(f"document:{k}" for k in KEYS)  # every importer: version 2
    assert {(d.version, d.created) for d in changed} == {(2, True)}

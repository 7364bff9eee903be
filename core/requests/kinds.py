"""The vocabulary of disclosure requests: states, applicant kinds, reply categories.

Reply categories follow Art. 36–39 of the 政府信息公开条例 and map onto the rows of the national
template of the 年度报告 table "收到和处理政府信息公开申请情况" (国办公开办函〔2021〕30号).
"""
from __future__ import annotations

from dataclasses import dataclass

STATUS_LABELS = {
    "submitted": "已提交，待登记",
    "registered": "已登记，待审核",
    "processing": "办理中",
    "awaiting_supplement": "待申请人补正",
    "consulting": "征求第三方意见中",
    "awaiting_fee": "待申请人缴纳信息处理费",
    "replied": "已答复，待送达",
    "delivered": "已送达",
    "closed": "已终止",
    "archived": "已归档",
}
OPEN_STATUSES = ("submitted", "registered", "processing", "awaiting_supplement", "consulting", "awaiting_fee")
# States whose reply deadline is running (a supplement notice stops it; a fee notice pauses it).
CLOCK_STATUSES = ("submitted", "registered", "processing", "consulting")

APPLICANT_TYPES = {"person": "公民", "org": "法人或其他组织"}
ORG_CATEGORIES = {
    "business": "商业企业",
    "research": "科研机构",
    "charity": "社会公益组织",
    "legal": "法律服务机构",
    "other": "其他",
}
ID_TYPES = {
    "resident_id": "居民身份证",
    "passport": "护照",
    "hk_macao_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "residence_permit": "港澳台居民居住证",
    "foreigner_pr": "外国人永久居留身份证",
    "other": "其他有效证件",
}
FORMS = {"paper": "纸质", "electronic": "电子"}
DELIVERIES = {"pickup": "自行领取", "post": "邮寄", "email": "电子邮件", "wechat": "微信"}
# Which ways of receiving make sense for each form.
DELIVERY_BY_FORM = {"paper": ["pickup", "post"], "electronic": ["email", "wechat", "pickup"]}
CHANNELS = {"wechat": "微信公众号", "counter": "当面", "post": "信函", "web": "网络平台", "email": "电子邮件", "fax": "传真"}


@dataclass(frozen=True)
class ReplyType:
    code: str
    label: str
    basis: str              # article of the 条例
    stat: str               # key of the annual-report row
    needs_detail: str = ""  # what staff must supply ("" = nothing)


REPLY_TYPES: dict[str, ReplyType] = {r.code: r for r in [
    ReplyType("already_public", "已主动公开，告知获取方式", "第三十六条第一项", "disclose", "获取方式、途径"),
    ReplyType("disclose", "予以公开", "第三十六条第二项", "disclose"),
    ReplyType("partial", "部分公开", "第三十七条", "partial", "不予公开的部分"),
    ReplyType("refuse", "不予公开", "第三十六条第三项", "refuse", "理由"),
    ReplyType("not_exist", "信息不存在", "第三十六条第四项", "unable.not_held"),
    ReplyType("not_competent", "非本机关负责公开", "第三十六条第五项", "unable.not_held", "负责公开的机关名称及联系方式"),
    ReplyType("needs_creation", "需另行制作（加工、分析），不予提供", "第三十八条", "unable.needs_creation"),
    ReplyType("still_unclear", "补正后申请内容仍不明确", "第三十条", "unable.unclear"),
    ReplyType("repeat", "重复申请，不予重复处理", "第三十六条第六项", "not_handled.repeat", "此前答复的编号或日期"),
    ReplyType("not_gi_request", "不属于政府信息公开申请（信访、投诉、举报）", "第三十九条第一款", "not_handled.petition", "可以提出的渠道"),
    ReplyType("publication", "要求提供公开出版物，告知获取途径", "第三十九条第二款", "not_handled.publication", "获取途径"),
    ReplyType("excessive", "申请数量、频次明显超过合理范围，不予处理", "第三十五条", "not_handled.excessive", "理由"),
    # Not Art. 39 (信访 and publications): such a request is not one to obtain information (Art. 27).
    ReplyType("reissue", "要求确认或重新出具已获取的信息，不予处理", "第二十七条", "not_handled.reissue"),
    ReplyType("special_law", "工商、不动产登记资料等，依照专门规定办理", "第三十六条第七项", "refuse.inquiry", "办理机关及依据"),
    # 村务 and other records of self-governing bodies are not 政府信息 (Art. 2); the national template
    # has no row of its own for it, so it counts under 其他处理.
    ReplyType("not_gov_info", "不属于政府信息（如村务信息），告知向有关单位提出", "第二条", "other.other",
              "应当向哪个单位提出（名称、联系方式）"),
]}
# Refusals under 不予公开 whose letter and remedies are those of another reply type, so the same
# facts always give the same letter: 行政查询事项 is Art. 36(7).
SAME_AS = {("refuse", "inquiry"): "special_law"}

# Grounds of 不予公开, one per row of the national template.
REFUSAL_GROUNDS = {
    "state_secret": ("属于国家秘密", "第十四条"),
    "law_prohibits": ("其他法律行政法规禁止公开", "第十四条"),
    "safety": ("公开后可能危及国家安全、公共安全、经济安全、社会稳定", "第十四条"),
    "third_party": ("涉及商业秘密、个人隐私等，公开会对第三方合法权益造成损害", "第十五条"),
    "internal": ("属于内部事务信息（人事管理、后勤管理、内部工作流程等）", "第十六条第一款"),
    "process": ("属于过程性信息（讨论记录、过程稿、磋商信函、请示报告等）", "第十六条第二款"),
    "enforcement": ("属于行政执法案卷信息", "第十六条第二款"),
    "inquiry": ("属于行政查询事项", "第三十六条第七项"),
}

# Closures that are not replies, for the "其他处理" rows.
CLOSE_OUTCOMES = {"abandoned": "逾期未补正，视为放弃", "withdrawn": "申请人撤回", "fee_unpaid": "逾期未缴纳信息处理费"}

# Table 四 of the annual report: 行政复议 and 行政诉讼 cases.
CASE_KINDS = {"review": "行政复议", "suit_direct": "行政诉讼（未经复议直接起诉）",
              "suit_after_review": "行政诉讼（复议后起诉）"}
CASE_RESULTS = {"upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果", "pending": "尚未审结"}

# 信息处理费 (国办函〔2020〕109号): charged only above these amounts.
FEE_FREE_PER_MONTH = 10   # applications by one applicant in a calendar month
FEE_FREE_PAGES = 30       # pages of one application
FEE_PAY_DAYS = 20         # working days to pay after the notice

# Rows of the annual table, in the template's order: (key, label, indent).
ANNUAL_ROWS: list[tuple[str, str, int]] = [
    ("disclose", "（一）予以公开", 1),
    ("partial", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", 1),
    ("refuse", "（三）不予公开", 1),
    ("refuse.state_secret", "1.属于国家秘密", 2),
    ("refuse.law_prohibits", "2.其他法律行政法规禁止公开", 2),
    ("refuse.safety", "3.危及“三安全一稳定”", 2),
    ("refuse.third_party", "4.保护第三方合法权益", 2),
    ("refuse.internal", "5.属于三类内部事务信息", 2),
    ("refuse.process", "6.属于四类过程性信息", 2),
    ("refuse.enforcement", "7.属于行政执法案卷", 2),
    ("refuse.inquiry", "8.属于行政查询事项", 2),
    ("unable", "（四）无法提供", 1),
    ("unable.not_held", "1.本机关不掌握相关政府信息", 2),
    ("unable.needs_creation", "2.没有现成信息需要另行制作", 2),
    ("unable.unclear", "3.补正后申请内容仍不明确", 2),
    ("not_handled", "（五）不予处理", 1),
    ("not_handled.petition", "1.信访举报投诉类申请", 2),
    ("not_handled.repeat", "2.重复申请", 2),
    ("not_handled.publication", "3.要求提供公开出版物", 2),
    ("not_handled.excessive", "4.无正当理由大量反复申请", 2),
    ("not_handled.reissue", "5.要求行政机关确认或重新出具已获取信息", 2),
    ("other", "（六）其他处理", 1),
    ("other.abandoned", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", 2),
    ("other.fee_unpaid", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", 2),
    ("other.other", "3.其他", 2),
    ("total", "（七）总计", 1),
]
ANNUAL_COLUMNS: list[tuple[str, str]] = [
    ("person", "自然人"),
    ("business", "商业企业"),
    ("research", "科研机构"),
    ("charity", "社会公益组织"),
    ("legal", "法律服务机构"),
    ("other", "其他"),
    ("total", "总计"),
]


def outcome_stat(outcome: str | None, ground: str | None) -> str:
    """The annual-table leaf row of a concluded request."""
    if outcome in REPLY_TYPES:
        stat = REPLY_TYPES[outcome].stat
        if stat == "refuse":
            return f"refuse.{ground}" if ground in REFUSAL_GROUNDS else "refuse.law_prohibits"
        return stat
    if outcome == "abandoned":
        return "other.abandoned"
    if outcome == "fee_unpaid":
        return "other.fee_unpaid"
    return "other.other"

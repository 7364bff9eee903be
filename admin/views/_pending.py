# TEMPORARY scaffolding while other helpers' models land; deleted before the report.
from admin import bp


@bp.get("/catalog")
def catalog() -> str:
    return "pending"


@bp.get("/questions")
def questions() -> str:
    return "pending"


@bp.get("/notices/new")
def notice_new() -> str:
    return "pending"


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int) -> str:
    return "pending"


@bp.get("/requests/annual")
def annual_report() -> str:
    return "pending"


@bp.get("/requests/register.xlsx")
def requests_register_xlsx() -> str:
    return "pending"

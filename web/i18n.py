"""The interface's words in Vietnamese (the default) and English: a catalogue of keys -> {"vi": …, "en": …}.

Templates call ``t("key", name=value)``; Python code calls :func:`gettext`. A page module adds its own words
with :func:`register` at import (``register({"trends.title": {"vi": "Xu hướng", "en": "Trends"}})``); a key
registered twice with different words is an error, so two modules cannot silently fight over one.
A missing key shows as the key itself (visible in a test), never as an exception in a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

MESSAGES: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add ``key -> {"vi": …, "en": …}`` entries (both languages required)."""
    for key, words in messages.items():
        missing = [lang for lang in LANGUAGES if not words.get(lang)]
        if missing:
            raise ValueError(f"message {key!r} lacks {', '.join(missing)}")
        if key in MESSAGES and MESSAGES[key] != dict(words):
            raise ValueError(f"message {key!r} is registered twice with different words")
        MESSAGES[key] = dict(words)


def gettext(key: str, lang: str = "vi", /, **params: object) -> str:
    """The words of ``key`` in ``lang`` (Vietnamese when ``lang`` is unknown), ``{name}`` filled from ``params``."""
    words = MESSAGES.get(key)
    if words is None:
        return key
    text = words.get(lang) or words["vi"]
    return text.format(**params) if params else text


def normalise(lang: str | None) -> Language | None:
    """``"vi"``/``"en"`` (case-insensitive, ``en-US`` too) or None."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else None  # type: ignore[return-value]


register({
    # Layout and navigation
    "app.name": {"vi": "mediawatch", "en": "mediawatch"},
    "app.tagline": {"vi": "Theo dõi báo chí và mạng xã hội", "en": "Media and social monitoring"},
    "nav.label": {"vi": "Điều hướng chính", "en": "Main navigation"},
    "nav.skip": {"vi": "Bỏ qua điều hướng, tới nội dung", "en": "Skip to content"},
    "nav.search": {"vi": "Tìm kiếm", "en": "Search"},
    "nav.trends": {"vi": "Xu hướng", "en": "Trends"},
    "nav.alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "nav.reports": {"vi": "Báo cáo", "en": "Reports"},
    "nav.sources": {"vi": "Nguồn", "en": "Sources"},
    "nav.users": {"vi": "Người dùng", "en": "Users"},
    "nav.audit": {"vi": "Nhật ký", "en": "Audit log"},
    "nav.account": {"vi": "Tài khoản", "en": "Account"},
    "nav.api": {"vi": "API", "en": "API"},
    "nav.logout": {"vi": "Đăng xuất", "en": "Log out"},
    "nav.login": {"vi": "Đăng nhập", "en": "Log in"},
    "nav.signed_in_as": {"vi": "Đăng nhập với tên {name}", "en": "Signed in as {name}"},
    "lang.switch": {"vi": "English", "en": "Tiếng Việt"},
    "stub.title": {"vi": "Trang đang được xây dựng", "en": "This page is being built"},
    "stub.body": {"vi": "Trang “{name}” sẽ có trong phiên bản tới.",
                  "en": "The “{name}” page comes in a later version."},
    "footer.times": {"vi": "Thời gian hiển thị theo múi giờ {zone}.", "en": "Times are shown in {zone}."},
    # Errors
    "error.title": {"vi": "Có lỗi", "en": "Something went wrong"},
    "error.400": {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    "error.401": {"vi": "Cần đăng nhập", "en": "Login required"},
    "error.403": {"vi": "Bạn không có quyền xem trang này", "en": "You may not see this page"},
    "error.404": {"vi": "Không tìm thấy trang", "en": "Page not found"},
    "error.405": {"vi": "Phương thức không được phép", "en": "Method not allowed"},
    "error.422": {"vi": "Dữ liệu gửi lên không hợp lệ", "en": "Invalid input"},
    "error.429": {"vi": "Quá nhiều yêu cầu", "en": "Too many requests"},
    "error.500": {"vi": "Lỗi máy chủ", "en": "Server error"},
    "error.503": {"vi": "Dịch vụ tạm thời không sẵn sàng", "en": "Service unavailable"},
    "error.back": {"vi": "Về trang tìm kiếm", "en": "Back to search"},
    "error.csrf": {
        "vi": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
        "en": "The form has expired or is invalid. Reload the page and try again.",
    },
    "error.admin_only": {"vi": "Chỉ quản trị viên mới dùng được trang này.",
                         "en": "Only administrators can use this page."},
    "error.not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
    "error.cluster": {
        "vi": "Không kết nối được kho dữ liệu (Elasticsearch). Hãy báo quản trị viên.",
        "en": "The data store (Elasticsearch) cannot be reached. Tell an administrator.",
    },
    "error.internal": {"vi": "Đã có lỗi bất ngờ; lỗi đã được ghi lại.",
                       "en": "An unexpected error occurred; it has been logged."},
    # Login
    "login.title": {"vi": "Đăng nhập", "en": "Log in"},
    "login.username": {"vi": "Tên đăng nhập", "en": "User name"},
    "login.password": {"vi": "Mật khẩu", "en": "Password"},
    "login.submit": {"vi": "Đăng nhập", "en": "Log in"},
    "login.failed": {"vi": "Tên đăng nhập hoặc mật khẩu không đúng.", "en": "Wrong user name or password."},
    "login.throttled": {
        "vi": "Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau {minutes} phút.",
        "en": "Too many failed logins. Try again in {minutes} minute(s).",
    },
    "login.logged_out": {"vi": "Bạn đã đăng xuất.", "en": "You have logged out."},
    "login.expired": {"vi": "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.",
                      "en": "Your session has ended; please log in again."},
    # Account
    "account.title": {"vi": "Tài khoản", "en": "Account"},
    "account.profile": {"vi": "Thông tin", "en": "Profile"},
    "account.name": {"vi": "Tên đăng nhập", "en": "User name"},
    "account.display_name": {"vi": "Tên hiển thị", "en": "Display name"},
    "account.role": {"vi": "Vai trò", "en": "Role"},
    "account.email": {"vi": "Thư điện tử", "en": "E-mail"},
    "role.admin": {"vi": "Quản trị viên", "en": "Administrator"},
    "role.analyst": {"vi": "Chuyên viên", "en": "Analyst"},
    "account.language": {"vi": "Ngôn ngữ giao diện", "en": "Interface language"},
    "account.language_saved": {"vi": "Đã lưu ngôn ngữ.", "en": "Language saved."},
    "account.save": {"vi": "Lưu", "en": "Save"},
    "account.password": {"vi": "Đổi mật khẩu", "en": "Change password"},
    "account.current_password": {"vi": "Mật khẩu hiện tại", "en": "Current password"},
    "account.new_password": {"vi": "Mật khẩu mới", "en": "New password"},
    "account.confirm_password": {"vi": "Nhập lại mật khẩu mới", "en": "New password again"},
    "account.password_changed": {"vi": "Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đóng.",
                                 "en": "Password changed. Your other sessions have been ended."},
    "account.password_wrong": {"vi": "Mật khẩu hiện tại không đúng.", "en": "The current password is wrong."},
    "account.password_mismatch": {"vi": "Hai mật khẩu mới không khớp.", "en": "The two new passwords differ."},
    "account.password_short": {"vi": "Mật khẩu cần ít nhất {n} ký tự.",
                               "en": "A password needs at least {n} characters."},
    "account.tokens": {"vi": "Mã truy cập API", "en": "API tokens"},
    "account.tokens_help": {
        "vi": "Dùng cho chương trình và tập lệnh: gửi kèm tiêu đề Authorization: Bearer <mã>. Mã chỉ hiện một lần.",
        "en": "For programs and scripts: send the header Authorization: Bearer <token>. A token is shown once.",
    },
    "account.token_name": {"vi": "Tên mã (để nhận ra)", "en": "Token name (to recognise it)"},
    "account.token_create": {"vi": "Tạo mã mới", "en": "Create a token"},
    "account.token_created": {"vi": "Mã mới — hãy sao chép ngay, mã sẽ không hiện lại:",
                              "en": "New token — copy it now, it will not be shown again:"},
    "account.token_revoke": {"vi": "Thu hồi", "en": "Revoke"},
    "account.token_revoked": {"vi": "Đã thu hồi mã.", "en": "Token revoked."},
    "account.token_none": {"vi": "Chưa có mã nào.", "en": "No tokens yet."},
    "account.token_hint": {"vi": "Bắt đầu bằng", "en": "Starts with"},
    "account.token_created_at": {"vi": "Tạo lúc", "en": "Created"},
    "account.token_last_used": {"vi": "Dùng lần cuối", "en": "Last used"},
    "account.never": {"vi": "chưa dùng", "en": "never"},
    # Users (admin)
    "users.title": {"vi": "Người dùng", "en": "Users"},
    "users.add": {"vi": "Thêm người dùng", "en": "Add a user"},
    "users.added": {"vi": "Đã thêm người dùng {name}.", "en": "User {name} added."},
    "users.exists": {"vi": "Tên đăng nhập {name} đã có.", "en": "The user name {name} is taken."},
    "users.bad_name": {
        "vi": "Tên đăng nhập gồm 2–64 chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.",
        "en": "A user name is 2–64 lower-case letters, digits, '.', '_' or '-'.",
    },
    "users.active": {"vi": "Đang hoạt động", "en": "Active"},
    "users.disabled": {"vi": "Đã khóa", "en": "Disabled"},
    "users.disable": {"vi": "Khóa", "en": "Disable"},
    "users.enable": {"vi": "Mở khóa", "en": "Enable"},
    "users.last_admin": {"vi": "Không thể khóa quản trị viên cuối cùng.",
                         "en": "The last administrator cannot be disabled."},
    "users.not_self": {"vi": "Bạn không thể tự khóa tài khoản của mình.", "en": "You cannot disable yourself."},
    "users.status": {"vi": "Trạng thái", "en": "Status"},
    "users.last_login": {"vi": "Đăng nhập lần cuối", "en": "Last login"},
    "users.make_admin": {"vi": "Quản trị viên", "en": "Administrator"},
    # Audit (admin)
    "audit.title": {"vi": "Nhật ký hoạt động", "en": "Audit log"},
    "audit.actor": {"vi": "Người thực hiện", "en": "Actor"},
    "audit.action": {"vi": "Hành động", "en": "Action"},
    "audit.any": {"vi": "Tất cả", "en": "Any"},
    "audit.target": {"vi": "Đối tượng", "en": "Target"},
    "audit.outcome": {"vi": "Kết quả", "en": "Outcome"},
    "audit.ip": {"vi": "Địa chỉ", "en": "Address"},
    "audit.time": {"vi": "Thời gian", "en": "Time"},
    "audit.details": {"vi": "Chi tiết", "en": "Details"},
    "audit.filter": {"vi": "Lọc", "en": "Filter"},
    "audit.none": {"vi": "Không có mục nào.", "en": "No entries."},
    "audit.total": {"vi": "{n} mục", "en": "{n} entries"},
    # Search
    "search.title": {"vi": "Tìm kiếm", "en": "Search"},
    "search.query": {"vi": "Từ khóa", "en": "Query"},
    "search.submit": {"vi": "Tìm", "en": "Search"},
    "search.placeholder": {"vi": "ví dụ: lũ lụt AND \"Bắc Ninh\"", "en": "e.g. flood AND \"Bac Ninh\""},
    "search.help_title": {"vi": "Cú pháp tìm kiếm", "en": "Query syntax"},
    "search.help": {
        "vi": "<code>lũ lụt</code> cả hai từ · <code>\"Bắc Ninh\"</code> cụm từ · <code>lụt*</code> tiền tố · "
              "<code>a OR b</code> · <code>NOT x</code> hoặc <code>-x</code> · dấu ngoặc <code>( )</code> · "
              "<code>title:</code> <code>text:</code> <code>author:</code> <code>section:</code> theo trường. "
              "Gõ không dấu vẫn tìm được (<code>lu lut</code> tìm ra “lũ lụt”); gõ có dấu thì kết quả đúng dấu "
              "được xếp trước.",
        "en": "<code>flood storm</code> both words · <code>\"Bắc Ninh\"</code> phrase · <code>lụt*</code> prefix · "
              "<code>a OR b</code> · <code>NOT x</code> or <code>-x</code> · parentheses <code>( )</code> · "
              "<code>title:</code> <code>text:</code> <code>author:</code> <code>section:</code> scoping. "
              "Diacritics are optional (<code>lu lut</code> finds “lũ lụt”); typing them ranks exact matches first.",
    },
    "search.syntax_error": {"vi": "Lỗi cú pháp ở vị trí {position}:", "en": "Syntax error at position {position}:"},
    "search.filters": {"vi": "Bộ lọc", "en": "Filters"},
    "search.date": {"vi": "Thời gian", "en": "Date"},
    "search.from": {"vi": "Từ ngày", "en": "From"},
    "search.to": {"vi": "Đến ngày", "en": "To"},
    "search.preset.any": {"vi": "Mọi lúc", "en": "Any time"},
    "search.preset.today": {"vi": "Hôm nay", "en": "Today"},
    "search.preset.yesterday": {"vi": "Hôm qua", "en": "Yesterday"},
    "search.preset.7d": {"vi": "7 ngày", "en": "7 days"},
    "search.preset.30d": {"vi": "30 ngày", "en": "30 days"},
    "search.sources": {"vi": "Nguồn", "en": "Sources"},
    "search.kind": {"vi": "Loại", "en": "Kind"},
    "kind.news": {"vi": "Báo chí", "en": "News"},
    "kind.forum": {"vi": "Diễn đàn", "en": "Forum"},
    "search.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "search.topics": {"vi": "Chủ đề", "en": "Topics"},
    "search.sentiment": {"vi": "Sắc thái", "en": "Sentiment"},
    "search.sort": {"vi": "Sắp xếp", "en": "Sort"},
    "search.sort.relevance": {"vi": "Liên quan nhất", "en": "Most relevant"},
    "search.sort.date": {"vi": "Mới nhất", "en": "Newest"},
    "search.apply": {"vi": "Áp dụng", "en": "Apply"},
    "search.clear": {"vi": "Xóa bộ lọc", "en": "Clear filters"},
    "search.total": {"vi": "{n} kết quả", "en": "{n} results"},
    "search.page": {"vi": "Trang {n}", "en": "Page {n}"},
    "search.next": {"vi": "Trang sau", "en": "Next page"},
    "search.prev": {"vi": "Trang trước", "en": "Previous page"},
    "search.first": {"vi": "Trang đầu", "en": "First page"},
    "search.pages": {"vi": "Phân trang", "en": "Pages"},
    "search.none": {"vi": "Không có kết quả nào.", "en": "Nothing matched."},
    "search.nothing_indexed": {
        "vi": "Chưa có dữ liệu: chưa thu thập nguồn nào. Hãy báo quản trị viên chạy thu thập.",
        "en": "Nothing is indexed yet: no source has been crawled. Ask an administrator to run a crawl.",
    },
    "search.more_outlets": {"vi": "+{n} nguồn", "en": "+{n} outlets"},
    "search.copies": {"vi": "Cùng nội dung ở", "en": "Same story at"},
    "search.original": {"vi": "Bài gốc", "en": "Original"},
    "search.export": {"vi": "Xuất kết quả", "en": "Export results"},
    "search.export_csv": {"vi": "Tải CSV", "en": "Download CSV"},
    "search.export_xlsx": {"vi": "Tải Excel (XLSX)", "en": "Download Excel (XLSX)"},
    "search.export_progress": {"vi": "Đang xuất {done}/{total} dòng…", "en": "Exporting {done}/{total} rows…"},
    "search.export_ready": {"vi": "Đã xong, đang tải xuống.", "en": "Done, downloading."},
    "search.export_failed": {"vi": "Xuất thất bại: {error}", "en": "Export failed: {error}"},
    "search.export_limit": {"vi": "Tối đa {n} dòng mỗi lần xuất.", "en": "At most {n} rows per export."},
    "search.bad_value": {"vi": "Giá trị {value} không hợp lệ cho {field}; dùng: {valid}",
                         "en": "{value} cannot be used for {field}; use: {valid}"},
    "search.bad_date": {"vi": "Không đọc được ngày {value}: dùng YYYY-MM-DD.",
                        "en": "Cannot read the date {value}: use YYYY-MM-DD."},
    "search.date_order": {"vi": "Ngày bắt đầu sau ngày kết thúc.", "en": "The start date is after the end date."},
    "search.by": {"vi": "bởi {author}", "en": "by {author}"},
    "search.took": {"vi": "{ms} ms", "en": "{ms} ms"},
    "search.thread": {"vi": "Chủ đề diễn đàn: {title}", "en": "Forum thread: {title}"},
    # API page
    "api.title": {"vi": "API", "en": "API"},
    "api.intro": {
        "vi": "Mọi trang đều có API JSON tương ứng. Tạo mã truy cập ở trang Tài khoản rồi gửi kèm tiêu đề "
              "<code>Authorization: Bearer &lt;mã&gt;</code>. Mô tả OpenAPI: "
              "<a href=\"/openapi.json\">/openapi.json</a>.",
        "en": "Every page has a JSON API. Create a token on the Account page and send the header "
              "<code>Authorization: Bearer &lt;token&gt;</code>. OpenAPI description: "
              "<a href=\"/openapi.json\">/openapi.json</a>.",
    },
})

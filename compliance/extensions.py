"""Flask extensions, created unbound and bound in create_app()."""
from flask_babel import Babel, gettext
from flask_login import LoginManager
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
#: A msgid (ERROR_PAGES has it too): flashed in the page's language. The session stores the text, not a lazy string.
login_manager.login_message = "请先登录"
login_manager.localize_callback = gettext
login_manager.login_message_category = "warning"
#: Sessions are checked in the database on every request; Flask-Login's own "remember me" cookie is not used.
login_manager.session_protection = None

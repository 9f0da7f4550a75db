"""Edit → Settings (Ctrl+,): every user setting in one dialog, read from and written to Settings.

The dialog only edits values; what a change means for the running app (a new bandwidth cap for
the uploads already running, a cleared cache) is the controller's business, told through
``applied`` and ``cache_clear_requested``.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.azure.account.clouds import CLOUDS, remember_cloud, remembered_cloud_name
from gui.azure.account.signin import SignInMethod
from gui.azure.upload import DISK_SKUS
from gui.paths import data_dir
from gui.qt.i18n import LANGUAGES
from gui.qt.settings import Settings
from gui.qt.style import Tone, text_style

MAX_CONCURRENCY = 32
MAX_CAP_MBPS = 100_000


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(text_style(Tone.MUTED))
    return label


def _row(form: QFormLayout, text: str, field: QWidget) -> None:
    """A labelled row whose label is the field's buddy: Alt+letter focuses it, screen readers
    read the label as the field's name."""
    label = QLabel(text)
    label.setBuddy(field)
    field.setAccessibleName(text.replace("&", "").rstrip(":"))
    form.addRow(label, field)


class SettingsDialog(QDialog):
    applied = Signal()
    cache_clear_requested = Signal()

    def __init__(
        self,
        settings: Settings,
        subscriptions: list[tuple[str, str]],
        locations: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.settings = settings
        tabs = QTabWidget()
        tabs.addTab(self._general_tab(subscriptions, locations), self.tr("&General"))
        tabs.addTab(self._uploads_tab(), self.tr("&Uploads"))
        tabs.addTab(self._account_tab(), self.tr("&Account"))
        tabs.addTab(self._data_tab(), self.tr("&Data and cache"))
        self.tabs = tabs
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.clicked.connect(self.restore_defaults)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.load()

    # --- tabs ---------------------------------------------------------------------------------

    def _general_tab(
        self, subscriptions: list[tuple[str, str]], locations: list[tuple[str, str]]
    ) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.language_box = QComboBox()
        self.language_box.setObjectName("languageBox")
        self.language_box.addItem(self.tr("As the system"), "")
        for code, name in LANGUAGES.items():
            self.language_box.addItem(name, code)
        _row(form, self.tr("&Language:"), self.language_box)
        form.addRow("", _note(self.tr("A new language is used from the next start.")))
        self.subscription_box = QComboBox()
        self.subscription_box.setObjectName("defaultSubscription")
        for sub_id, name in subscriptions:
            self.subscription_box.addItem(f"{name} ({sub_id})", sub_id)
        if self.settings.subscription_id and self.subscription_box.findData(
                self.settings.subscription_id) < 0:
            self.subscription_box.addItem(self.settings.subscription_id,
                                          self.settings.subscription_id)
        _row(form, self.tr("Default &subscription:"), self.subscription_box)
        self.location_box = QComboBox()
        self.location_box.setObjectName("defaultLocation")
        for name, display in locations:
            self.location_box.addItem(f"{display} ({name})", name)
        if self.location_box.findData(self.settings.location) < 0:
            self.location_box.addItem(self.settings.location, self.settings.location)
        _row(form, self.tr("Default l&ocation:"), self.location_box)
        self.group_edit = QLineEdit()
        self.group_edit.setObjectName("defaultResourceGroup")
        self.group_edit.setPlaceholderText(self.tr("none: the wizards ask"))
        _row(form, self.tr("Default &resource group:"), self.group_edit)
        self.sku_box = QComboBox()
        self.sku_box.setObjectName("defaultDiskSku")
        self.sku_box.addItems(DISK_SKUS)
        _row(form, self.tr("Default &disk type:"), self.sku_box)
        return page

    def _uploads_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.concurrency_spin = QSpinBox()
        self.concurrency_spin.setObjectName("uploadConcurrency")
        self.concurrency_spin.setRange(1, MAX_CONCURRENCY)
        _row(form, self.tr("&Requests in flight per upload:"), self.concurrency_spin)
        form.addRow("", _note(self.tr(
            "More requests help on links with a long round trip; 8 is enough for most.")))
        self.cap_spin = QSpinBox()
        self.cap_spin.setObjectName("bandwidthCap")
        self.cap_spin.setRange(0, MAX_CAP_MBPS)
        self.cap_spin.setSuffix(self.tr(" Mbit/s"))
        self.cap_spin.setSpecialValueText(self.tr("No limit"))
        _row(form, self.tr("&Bandwidth limit:"), self.cap_spin)
        form.addRow("", _note(self.tr(
            "One limit for all uploads together; it applies at once, also to uploads that "
            "are running.")))
        self.delete_partial = QCheckBox(self.tr("&Delete the partial managed disk"))
        self.delete_partial.setObjectName("deletePartialDisk")
        _row(form, self.tr("When an upload is cancelled:"), self.delete_partial)
        form.addRow("", _note(self.tr(
            "A cancelled upload leaves a disk that holds only part of the image and is billed "
            "like any other. Keep it only to look at it.")))
        return page

    def _account_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.method_box = QComboBox()
        self.method_box.setObjectName("signInMethod")
        self.method_box.addItem(self.tr("Browser window"), SignInMethod.BROWSER.value)
        self.method_box.addItem(self.tr("Device code (sign in on another device)"),
                                SignInMethod.DEVICE_CODE.value)
        _row(form, self.tr("&Sign-in method:"), self.method_box)
        self.cloud_box = QComboBox()
        self.cloud_box.setObjectName("cloudBox")
        for cloud in CLOUDS.values():
            self.cloud_box.addItem(cloud.title, cloud.name)
        _row(form, self.tr("&Cloud:"), self.cloud_box)
        form.addRow("", _note(self.tr(
            "Both are used the next time you sign in (Account → Sign in to Azure…).")))
        return page

    def _data_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.age_spin = QSpinBox()
        self.age_spin.setObjectName("cacheMaxAge")
        self.age_spin.setRange(0, 7 * 24 * 60)
        self.age_spin.setSuffix(self.tr(" min"))
        self.age_spin.setSpecialValueText(self.tr("Always ask Azure again"))
        _row(form, self.tr("Trust cached &listings for:"), self.age_spin)
        form.addRow("", _note(self.tr(
            "Listings are shown from the cache at once; younger than this, Azure is not asked "
            "again, which saves Azure's read budget on large subscriptions.")))
        self.clear_button = QPushButton(self.tr("&Clear the cache"))
        self.clear_button.setObjectName("clearCache")
        self.clear_button.clicked.connect(self._clear_cache)
        self.cleared_note = QLabel()
        self.cleared_note.setObjectName("cacheCleared")
        row = QHBoxLayout()
        row.addWidget(self.clear_button)
        row.addWidget(self.cleared_note, 1)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow(self.tr("Cache:"), holder)
        self.data_path = QLineEdit(str(data_dir()))
        self.data_path.setObjectName("dataFolder")
        self.data_path.setReadOnly(True)
        _row(form, self.tr("Data &folder:"), self.data_path)
        self.open_button = QPushButton(self.tr("&Open the data folder"))
        self.open_button.setObjectName("openDataFolder")
        self.open_button.clicked.connect(self.open_data_folder)
        form.addRow("", self.open_button)
        form.addRow("", _note(self.tr(
            "It holds the settings, the log, the cache, unfinished uploads' journals and the "
            "sandbox. Secrets are never written there: they stay in the system's keyring.")))
        return page

    # --- values -------------------------------------------------------------------------------

    @staticmethod
    def _select(box: QComboBox, data: str) -> None:
        index = box.findData(data)
        if index < 0:
            index = box.findText(data)
        box.setCurrentIndex(max(0, index))

    def load(self) -> None:
        s = self.settings
        self._select(self.language_box, s.language)
        self._select(self.subscription_box, s.subscription_id)
        self._select(self.location_box, s.location)
        self.group_edit.setText(s.default_resource_group)
        self._select(self.sku_box, s.default_disk_sku)
        self.concurrency_spin.setValue(s.upload_concurrency)
        self.cap_spin.setValue(s.bandwidth_cap_mbps)
        self.delete_partial.setChecked(s.delete_partial_disk)
        self._select(self.method_box, s.sign_in_method)
        self._select(self.cloud_box, remembered_cloud_name() or "AzureCloud")
        self.age_spin.setValue(s.cache_max_age_minutes)

    def restore_defaults(self) -> None:
        """Puts every field back to its declared default (saved only with OK)."""
        s = Settings
        self._select(self.language_box, s.language.default)
        self.group_edit.setText(s.default_resource_group.default)
        self._select(self.sku_box, s.default_disk_sku.default)
        self.concurrency_spin.setValue(s.upload_concurrency.default)
        self.cap_spin.setValue(s.bandwidth_cap_mbps.default)
        self.delete_partial.setChecked(s.delete_partial_disk.default)
        self._select(self.method_box, s.sign_in_method.default)
        self.age_spin.setValue(s.cache_max_age_minutes.default)

    def save(self) -> None:
        s = self.settings
        s.language = str(self.language_box.currentData())
        if self.subscription_box.count():
            s.subscription_id = str(self.subscription_box.currentData())
        if self.location_box.count():
            s.location = str(self.location_box.currentData())
        s.default_resource_group = self.group_edit.text().strip()
        s.default_disk_sku = self.sku_box.currentText()
        s.upload_concurrency = self.concurrency_spin.value()
        s.bandwidth_cap_mbps = self.cap_spin.value()
        s.delete_partial_disk = self.delete_partial.isChecked()
        s.sign_in_method = str(self.method_box.currentData())
        s.cache_max_age_minutes = self.age_spin.value()
        cloud = CLOUDS.get(str(self.cloud_box.currentData()))
        if cloud is not None and cloud.name != (remembered_cloud_name() or "AzureCloud"):
            remember_cloud(cloud)
        s.sync()

    def accept(self) -> None:
        self.save()
        self.applied.emit()
        super().accept()

    def _clear_cache(self) -> None:
        self.cache_clear_requested.emit()
        self.cleared_note.setText(self.tr("Cleared: listings are asked from Azure again."))

    def open_data_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(data_dir())))

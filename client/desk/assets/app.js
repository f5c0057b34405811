// The Temoin desk page. Plain JavaScript, no framework, no external resource: the
// Content-Security-Policy allows nothing but this origin. Every decrypted value comes
// from /api/ and is put into the page as text (textContent), never as HTML.
'use strict';

const TEXT = {
  en: {
    records: 'Records', statistics: 'Statistics', language: 'Language', lock: 'Lock',
    close: 'Close the desk', unlockTitle: 'Unlock the desk', passphrase: 'Vault passphrase',
    unlock: 'Unlock', search: 'Search (narrative, locality, names)', from: 'Incident from',
    to: 'to', region: 'Region', act: 'Act', perpetrator: 'Alleged perpetrator',
    source: 'Source type', victimSex: "Victims' sex", victimAge: "Victims' age group",
    sensitivity: 'Sensitivity', device: 'Device', matching: 'matching records',
    exportCsv: 'Export CSV', exportJson: 'Export JSON', pull: 'Fetch new records',
    more: 'Show more records', shown: 'shown',
    date: 'Date', locality: 'Locality', acts: 'Acts', victims: 'Victims', status: 'Status',
    back: '← Back to the list', narrative: 'Narrative', attachments: 'Attachments',
    statsNote: 'Verified records matching the current filter; unverified records are left out.',
    countingRule: 'How things are counted: acts are counted per victim (an act recorded with a count of 3 victims counts 3; with no count it counts 1), so the acts can add up to more than the records. Quarters, regions and perpetrators count records (a record naming two perpetrators counts once for each). Victim groups count people.',
    print: 'Print or save as PDF', printedOn: 'Temoin statistics, printed {date}', filterLabel: 'Filter', noFilter: 'all records', rawNote: 'raw counts',
    category: 'Category', value: 'Value', count: 'Count', change: 'Change on previous quarter',
    quarter: 'Quarter', victimGroup: 'Victims', verified: 'verified', unverified: 'UNVERIFIED',
    childShare: 'Cases with child victims', recordsLabel: 'records', none: 'none',
    locked: 'The desk is locked.', wrong: 'Wrong passphrase.', any: '(any)',
    women: 'Women', men: 'Men', girls: 'Girls', boys: 'Boys', unknown: 'Unknown',
    amends: 'Amends record', project: 'Project', received: 'Received', incident: 'Incident',
    perpetrators: 'Alleged perpetrators', sourceLabel: 'Source', consent: 'Consent',
    fetched: 'new records fetched', failed: 'could not be opened',
    duplicates: 'Possible duplicates', noDuplicates: 'No possible duplicates.',
    gaps: 'Gaps', noGaps: 'No gaps: every device\'s numbers are all here.',
    gapsNote: 'Each device numbers the records it seals 1, 2, 3… A missing number is a record still in the field, lost, or withheld. Only verified records count; numbers after a device\'s highest cannot be known.',
    highest: 'Highest number', missing: 'Missing numbers',
    duplicatesNote: 'Records that probably describe the same incident: same place (or within 10 km), incident dates within 3 days, an act in common and, when both name victims, similar names. Among the records matching the current filter.',
    group: 'Group', confirm: 'Same incident', split: 'Different incidents',
    undecide: 'Undecided', confirmed: 'confirmed: counted once in the statistics',
    splitDone: 'split: counted separately', undecided: 'not decided yet',
    raw: 'Raw counts (confirmed duplicates counted each time)',
    newTestimony: 'New testimony', incidentDate: 'Incident date (YYYY, YYYY-MM or YYYY-MM-DD)',
    endDate: 'End date (if several days)', anonymous: 'The source asks to stay anonymous',
    informed: 'Informed consent given', courts: 'May be shared with courts',
    publish: 'May be published anonymised', testimonyLanguage: 'Language of the testimony (e.g. fr, bm, ff)',
    saveDraft: 'Save as draft', seal: 'Seal for the reviewers', sealedOk: 'Sealed: only the project\'s reviewers can open it now.',
    draftOk: 'Saved as a draft on this device.', outboxLabel: 'On this device',
    stateDraft: 'drafts', stateSealed: 'sealed', stateCommitted: 'committed', stateReceived: 'received',
    syncNow: 'Sync now', syncing: 'Syncing', synced: 'Synced', left: 'left', recordsWord: 'records',
    drafts: 'Drafts on this device', noDrafts: 'No draft.', open: 'Open', startNew: 'Start a new testimony',
    editingDraft: 'Editing draft {id}: saving replaces it, sealing seals it and deletes the draft.',
    coordinates: 'Coordinates (optional)', latitude: 'Latitude (−90 to 90)', longitude: 'Longitude (−180 to 180)',
    precision: 'Precision (metres)', namedVictims: 'Named victims (optional)', addVictim: 'Add a victim',
    victimName: 'Name', victimSexLabel: 'Sex', victimAgeGroup: 'Age group', victimAgeYears: 'Age (years)',
    removeVictim: 'Remove this victim', victimN: 'Victim {n}',
    attachFiles: 'Attachments (photos, sound, video, documents; sent when sealing)',
    jpegNote: 'Photos (JPEG) lose their hidden metadata (GPS position, camera, time) before they are stored.',
    attached: 'attachments',
    devices: 'Devices', invite: 'Invite', audit: 'Audit log', role: 'Role', enrolled: 'Enrolled',
    state: 'State', actions: 'Actions', access: "Reviewers' access", reviewer: 'Reviewer',
    grant: 'Grant access', ungrant: 'Remove access (rotates the project key)',
    devicesNote: 'Every device enrolled in the organisation. The server keeps no last-seen time, only the hour of enrolment.',
    revoke: 'Revoke…', revokeYes: 'Revoke it', cancel: 'Cancel', active: 'active', revoked: 'revoked',
    revokeQuestion: 'Revoke device {id} ({role}{project})? Its sessions end now, it is ordered to wipe itself at its next call, and the keys of the projects it could read are rotated. This cannot be undone.',
    revokedOk: 'Revoked {id}.', rotatedKeys: 'Keys rotated', grantedOk: 'Access to {project} granted to {id}.',
    ungrantedOk: 'Access to {project} removed from {id}; the project key is now at epoch {epoch}.',
    monitor: 'monitor', reviewerRole: 'reviewer', adminRole: 'admin', thisDevice: '(this desk)',
    ttl: 'Valid for (hours, at most 720)', issue: 'Issue a one-time code',
    inviteNote: 'Scan this code with the new device, or type the code below into `temoin enroll`. It works once; it is kept nowhere on this desk: leaving this page forgets it.',
    qrAlt: 'QR code of the one-time enrolment code', time: 'Time (UTC)', actor: 'Actor',
    action: 'Action', object: 'Object', auditOk: 'Verified: {n} entries; the hash chain matches the head the server signed, and extends the one this device saw last time.',
    auditBad: 'NOT VERIFIED: {problem}. The entries below are what the server claims; do not trust them.',
  },
  fr: {
    records: 'Témoignages', statistics: 'Statistiques', language: 'Langue', lock: 'Verrouiller',
    close: 'Fermer le bureau', unlockTitle: 'Déverrouiller le bureau',
    passphrase: 'Phrase secrète du coffre', unlock: 'Déverrouiller',
    search: 'Rechercher (récit, localité, noms)', from: 'Incident du', to: 'au',
    region: 'Région', act: 'Acte', perpetrator: 'Auteur présumé', source: 'Type de source',
    victimSex: 'Sexe des victimes', victimAge: "Tranche d'âge des victimes",
    sensitivity: 'Sensibilité', device: 'Appareil', matching: 'témoignages correspondants',
    exportCsv: 'Exporter en CSV', exportJson: 'Exporter en JSON',
    more: 'Afficher plus de témoignages', shown: 'affichés',
    pull: 'Récupérer les nouveaux témoignages', date: 'Date', locality: 'Localité',
    acts: 'Actes', victims: 'Victimes', status: 'État', back: '← Retour à la liste',
    narrative: 'Récit', attachments: 'Pièces jointes',
    statsNote: 'Témoignages vérifiés correspondant au filtre ; les non vérifiés sont exclus.',
    countingRule: "Mode de comptage : les actes sont comptés par victime (un acte noté pour 3 victimes compte 3 ; sans nombre il compte 1), si bien que les actes peuvent dépasser le nombre de témoignages. Les trimestres, régions et auteurs comptent des témoignages (un témoignage qui nomme deux auteurs compte une fois pour chacun). Les groupes de victimes comptent des personnes.",
    print: 'Imprimer ou enregistrer en PDF', printedOn: 'Statistiques Temoin, imprimées le {date}', filterLabel: 'Filtre', noFilter: 'tous les témoignages', rawNote: 'chiffres bruts',
    category: 'Catégorie', value: 'Valeur', count: 'Nombre',
    change: 'Variation sur le trimestre précédent', quarter: 'Trimestre',
    victimGroup: 'Victimes', verified: 'vérifié', unverified: 'NON VÉRIFIÉ',
    childShare: 'Cas avec des victimes mineures', recordsLabel: 'témoignages', none: 'aucun',
    locked: 'Le bureau est verrouillé.', wrong: 'Phrase secrète incorrecte.', any: '(tous)',
    women: 'Femmes', men: 'Hommes', girls: 'Filles', boys: 'Garçons', unknown: 'Inconnu',
    amends: 'Corrige le témoignage', project: 'Projet', received: 'Reçu',
    incident: 'Incident', perpetrators: 'Auteurs présumés', sourceLabel: 'Source',
    consent: 'Consentement', fetched: 'nouveaux témoignages récupérés',
    failed: 'ne peuvent pas être ouverts',
    gaps: 'Lacunes', noGaps: 'Aucune lacune : tous les numéros de chaque appareil sont là.',
    gapsNote: 'Chaque appareil numérote les témoignages qu\'il scelle 1, 2, 3… Un numéro manquant est un témoignage encore sur le terrain, perdu ou retenu. Seuls les témoignages vérifiés comptent ; les numéros après le plus élevé d\'un appareil ne peuvent pas être connus.',
    highest: 'Numéro le plus élevé', missing: 'Numéros manquants',
    duplicates: 'Doublons possibles', noDuplicates: 'Aucun doublon possible.',
    duplicatesNote: "Témoignages qui décrivent probablement le même incident : même lieu (ou à moins de 10 km), dates à 3 jours au plus, un acte en commun et, si les deux nomment des victimes, des noms proches. Parmi les témoignages du filtre en cours.",
    group: 'Groupe', confirm: 'Même incident', split: 'Incidents distincts',
    undecide: 'Non décidé', confirmed: 'confirmé : compté une fois dans les statistiques',
    splitDone: 'séparé : comptés séparément', undecided: 'pas encore décidé',
    raw: 'Chiffres bruts (doublons confirmés comptés à chaque fois)',
    newTestimony: 'Nouveau témoignage', incidentDate: "Date de l'incident (AAAA, AAAA-MM ou AAAA-MM-JJ)",
    endDate: 'Date de fin (sur plusieurs jours)', anonymous: 'La source demande à rester anonyme',
    informed: 'Consentement éclairé donné', courts: 'Peut être transmis à la justice',
    publish: 'Peut être publié anonymisé', testimonyLanguage: 'Langue du témoignage (ex. fr, bm, ff)',
    saveDraft: 'Enregistrer le brouillon', seal: 'Sceller pour les relecteurs',
    sealedOk: 'Scellé : seuls les relecteurs du projet peuvent l\'ouvrir désormais.',
    draftOk: 'Brouillon enregistré sur cet appareil.', outboxLabel: 'Sur cet appareil',
    stateDraft: 'brouillons', stateSealed: 'scellés', stateCommitted: 'engagés', stateReceived: 'reçus',
    syncNow: 'Synchroniser', syncing: 'Synchronisation', synced: 'Synchronisé', left: 'restantes',
    recordsWord: 'témoignages',
    drafts: 'Brouillons sur cet appareil', noDrafts: 'Aucun brouillon.', open: 'Ouvrir',
    startNew: 'Commencer un nouveau témoignage',
    editingDraft: 'Modification du brouillon {id} : enregistrer le remplace, sceller le scelle et supprime le brouillon.',
    coordinates: 'Coordonnées (facultatif)', latitude: 'Latitude (−90 à 90)', longitude: 'Longitude (−180 à 180)',
    precision: 'Précision (mètres)', namedVictims: 'Victimes nommées (facultatif)', addVictim: 'Ajouter une victime',
    victimName: 'Nom', victimSexLabel: 'Sexe', victimAgeGroup: "Tranche d'âge", victimAgeYears: 'Âge (ans)',
    removeVictim: 'Retirer cette victime', victimN: 'Victime {n}',
    attachFiles: 'Pièces jointes (photos, son, vidéo, documents ; envoyées au scellement)',
    jpegNote: 'Les photos (JPEG) perdent leurs métadonnées cachées (position GPS, appareil, heure) avant d\'être enregistrées.',
    attached: 'pièces jointes',
    devices: 'Appareils', invite: 'Inviter', audit: "Journal d'audit", role: 'Rôle', enrolled: 'Enrôlé',
    state: 'État', actions: 'Actions', access: 'Accès des relecteurs', reviewer: 'Relecteur',
    grant: "Donner l'accès", ungrant: "Retirer l'accès (renouvelle la clé du projet)",
    devicesNote: "Tous les appareils enrôlés dans l'organisation. Le serveur ne garde pas la dernière connexion, seulement l'heure d'enrôlement.",
    revoke: 'Révoquer…', revokeYes: 'Le révoquer', cancel: 'Annuler', active: 'actif', revoked: 'révoqué',
    revokeQuestion: "Révoquer l'appareil {id} ({role}{project}) ? Ses sessions prennent fin, il reçoit l'ordre de s'effacer à son prochain appel, et les clés des projets qu'il pouvait lire sont renouvelées. C'est irréversible.",
    revokedOk: '{id} révoqué.', rotatedKeys: 'Clés renouvelées', grantedOk: 'Accès à {project} donné à {id}.',
    ungrantedOk: "Accès à {project} retiré à {id} ; la clé du projet est maintenant à l'époque {epoch}.",
    monitor: 'moniteur', reviewerRole: 'relecteur', adminRole: 'administrateur', thisDevice: '(ce bureau)',
    ttl: 'Valable (heures, 720 au plus)', issue: 'Émettre un code à usage unique',
    inviteNote: "Scannez ce code avec le nouvel appareil, ou saisissez le code ci-dessous dans `temoin enroll`. Il ne sert qu'une fois ; ce bureau ne le garde nulle part : quitter cette page l'oublie.",
    qrAlt: "QR code du code d'enrôlement à usage unique", time: 'Heure (UTC)', actor: 'Auteur',
    action: 'Action', object: 'Objet', auditOk: "Vérifié : {n} entrées ; la chaîne de hachage correspond à la tête signée par le serveur et prolonge celle vue la dernière fois.",
    auditBad: 'NON VÉRIFIÉ : {problem}. Les entrées ci-dessous sont ce que le serveur affirme ; ne vous y fiez pas.',
  },
};

const state = { lang: 'en', vocab: null, query: '', seq: 0, checkSeq: 0, role: '', draftId: '',
  nextOffset: null };
// Rows asked for at a time (the API's default page). A test may set window.deskPageSize
// before the page loads, to page through a handful of records.
const pageSize = () => Number(window.deskPageSize) || 200;
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key] || TEXT.en[key] || key;
// A sentence with {name} slots filled (as text: the page never builds HTML from data).
const tf = (key, values) => t(key).replace(/\{(\w+)\}/g, (m, name) => String(values[name] ?? ''));

function label(list, code) {
  if (!state.vocab || !code) return code || '';
  const term = (state.vocab[list] || []).find((x) => x.code === code);
  if (!term) return code;
  return state.lang === 'fr' ? term.labelFr : term.labelEn;
}

async function api(path, options = {}) {
  const response = await fetch(path, Object.assign({ credentials: 'same-origin' }, options));
  if (response.ok) return response;
  let message = response.statusText;
  try { message = (await response.json()).error; } catch (e) { /* not JSON */ }
  if (response.status === 401 && message === 'locked') {
    showUnlock(t('locked'));
    throw new Error('locked');
  }
  throw new Error(message);
}

function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

function show(view) {
  for (const id of ['unlock-view', 'records-view', 'record-view', 'stats-view', 'duplicates-view', 'gaps-view', 'new-view',
    'devices-view', 'invite-view', 'audit-view']) {
    $(id).hidden = id !== view;
  }
  const inside = view !== 'unlock-view';
  $('nav').hidden = !inside;
  $('lock').hidden = !inside;
  $('close').hidden = false;
}

function showUnlock(message) {
  show('unlock-view');
  $('unlock-error').textContent = message || '';
  $('passphrase').focus();
}

function fillChecks(box) {
  const chosen = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
  box.textContent = '';
  for (const term of (state.vocab && state.vocab[box.dataset.checks]) || []) {
    const id = box.id + '-' + term.code;
    const div = document.createElement('div');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = id;
    input.value = term.code;
    input.checked = chosen.has(term.code);
    const lab = document.createElement('label');
    lab.htmlFor = id;
    lab.className = 'inline';
    lab.textContent = state.lang === 'fr' ? term.labelFr : term.labelEn;
    div.append(input, ' ', lab);
    box.append(div);
  }
}

// One named victim's row: every input labelled, ids unique to the row.
function addVictimRow(v = {}) {
  const box = $('t-victims');
  const n = (Number(box.dataset.next || 0)) + 1;
  box.dataset.next = String(n);
  const row = document.createElement('div');
  row.className = 'victim';
  row.setAttribute('data-testid', 't-victim');
  row.setAttribute('role', 'group');
  row.setAttribute('aria-label', tf('victimN', { n }));
  const add = (labelKey, element, field) => {
    element.id = 't-victim-' + n + '-' + field;
    element.dataset.field = field;
    const lab = document.createElement('label');
    lab.htmlFor = element.id;
    lab.textContent = t(labelKey);
    const div = document.createElement('div');
    div.append(lab, element);
    row.append(div);
    return element;
  };
  const name = add('victimName', document.createElement('input'), 'name');
  name.value = v.name || '';
  const sex = add('victimSexLabel', document.createElement('select'), 'sex');
  sex.dataset.vocab = 'sexes';
  fillSelect(sex);
  sex.value = v.sex || '';
  const group = add('victimAgeGroup', document.createElement('select'), 'age_group');
  group.dataset.vocab = 'ageGroups';
  fillSelect(group);
  group.value = v.age_group || '';
  const age = add('victimAgeYears', document.createElement('input'), 'age');
  age.type = 'number';
  age.min = '0';
  age.max = '130';
  age.value = v.age ? String(v.age) : '';
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = t('removeVictim');
  remove.addEventListener('click', () => { row.remove(); checkTestimony(); });
  row.append(remove);
  box.append(row);
  return row;
}

function formVictims() {
  return [...$('t-victims').querySelectorAll('.victim')].map((row) => {
    const get = (field) => row.querySelector(`[data-field=${field}]`).value.trim();
    const victim = { name: get('name'), sex: get('sex'), age_group: get('age_group') };
    const age = parseInt(get('age'), 10);
    if (age > 0) victim.age = age;
    return victim;
  });
}

// The form as `temoin record --from` reads it (proto3 JSON, the proto's field names).
function formTestimony() {
  const v = (id) => $(id).value.trim();
  const n = (id) => Math.max(0, parseInt($(id).value, 10) || 0);
  const checked = (id) => [...$(id).querySelectorAll('input:checked')].map((i) => i.value);
  const counts = { women: n('t-women'), men: n('t-men'), girls: n('t-girls'), boys: n('t-boys'), unknown: n('t-unknown') };
  counts.total = counts.women + counts.men + counts.girls + counts.boys + counts.unknown;
  return {
    narrative: $('t-narrative').value,
    language: v('t-language'),
    incident: Object.assign({ date: v('t-date'), end_date: v('t-end'), region: v('t-region'), locality: v('t-locality') },
        coordinates()),
    victims: formVictims(),
    acts: checked('t-acts').map((type) => ({ type })),
    perpetrators: checked('t-perpetrators'),
    victim_counts: counts,
    source: { type: v('t-source'), anonymous: $('t-anonymous').checked },
    consent: { informed: $('t-informed').checked, share_with_courts: $('t-courts').checked,
      publish_anonymised: $('t-publish').checked },
    sensitivity: v('t-sensitivity'),
  };
}

// Latitude and longitude only when both are given; a number the page cannot read is
// sent as it is typed, so that `record`'s rules say what is wrong with it.
function coordinates() {
  const lat = $('t-lat').value.trim(), lon = $('t-lon').value.trim(), p = $('t-precision').value.trim();
  if (lat === '' && lon === '' && p === '') return {};
  const num = (x) => (x === '' ? 0 : Number(x));
  return { latitude: num(lat), longitude: num(lon), precision_m: Math.max(0, Math.round(num(p))) };
}

// The form filled from a stored draft (the inverse of formTestimony).
function fillForm(x) {
  $('testimony-form').reset();
  const inc = x.incident || {};
  $('t-date').value = inc.date || '';
  $('t-end').value = inc.end_date || '';
  $('t-region').value = inc.region || '';
  $('t-locality').value = inc.locality || '';
  $('t-lat').value = inc.precision_m || inc.latitude ? String(inc.latitude || 0) : '';
  $('t-lon').value = inc.precision_m || inc.longitude ? String(inc.longitude || 0) : '';
  $('t-precision').value = inc.precision_m ? String(inc.precision_m) : '';
  const acts = new Set((x.acts || []).map((a) => a.type));
  for (const box of $('t-acts').querySelectorAll('input')) box.checked = acts.has(box.value);
  const perps = new Set(x.perpetrators || []);
  for (const box of $('t-perpetrators').querySelectorAll('input')) box.checked = perps.has(box.value);
  const c = x.victim_counts || {};
  for (const k of ['women', 'men', 'girls', 'boys', 'unknown']) $('t-' + k).value = String(c[k] || 0);
  $('t-victims').textContent = '';
  for (const victim of x.victims || []) addVictimRow(victim);
  const src = x.source || {};
  $('t-source').value = src.type || '';
  $('t-anonymous').checked = !!src.anonymous;
  const consent = x.consent || {};
  $('t-informed').checked = !!consent.informed;
  $('t-courts').checked = !!consent.share_with_courts;
  $('t-publish').checked = !!consent.publish_anonymised;
  $('t-sensitivity').value = x.sensitivity === 'SENSITIVITY_RESTRICTED' ? 'SENSITIVITY_RESTRICTED' : 'SENSITIVITY_NORMAL';
  $('t-language').value = x.language || '';
  $('t-narrative').value = x.narrative || '';
}

function setEditing(id) {
  state.draftId = id || '';
  $('editing').hidden = !id;
  $('editing-text').textContent = id ? tf('editingDraft', { id }) : '';
  $('editing').dataset.id = state.draftId;
}

function startBlank() {
  $('testimony-form').reset();
  $('t-victims').textContent = '';
  setEditing('');
  $('t-result').textContent = '';
  delete $('t-result').dataset.id;
}

async function openDraft(id) {
  const x = await (await api('/api/drafts/' + encodeURIComponent(id))).json();
  fillForm(x);
  setEditing(id);
  $('t-result').textContent = '';
  await checkTestimony();
  $('t-date').focus();
}

async function loadDrafts() {
  const data = await (await api('/api/drafts')).json();
  const list = $('draft-list');
  list.textContent = '';
  if (!data.drafts.length) {
    const li = document.createElement('li');
    li.textContent = t('noDrafts');
    list.append(li);
  }
  for (const d of data.drafts) {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'draft');
    li.dataset.id = d.id;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = t('open');
    button.setAttribute('aria-label', t('open') + ' ' + d.id);
    button.addEventListener('click', () => openDraft(d.id));
    li.append(button, ' ' + [d.date || '—', label('regions', d.region), d.locality, d.narrative_start]
        .filter(Boolean).join(' · '));
    list.append(li);
  }
  list.dataset.count = String(data.drafts.length);
}

async function checkTestimony() {
  const seq = ++state.checkSeq;
  try {
    await post('/api/testimony/check', formTestimony());
    if (seq === state.checkSeq) $('t-error').textContent = '';
  } catch (e) {
    if (seq === state.checkSeq) $('t-error').textContent = e.message;
  }
  if (seq === state.checkSeq) $('t-error').dataset.checked = String(seq);
}

async function saveTestimony(draft) {
  $('t-result').textContent = '';
  delete $('t-result').dataset.id;
  const params = new URLSearchParams();
  if (draft) params.set('draft', '1');
  if (state.draftId) params.set('draft_id', state.draftId);
  const path = '/api/testimony' + (params.toString() ? '?' + params : '');
  const files = draft ? [] : [...$('t-files').files];
  try {
    let response;
    if (files.length) {
      // The testimony and the picked files in one request; the desk seals them together.
      const body = new FormData();
      body.append('testimony', new Blob([JSON.stringify(formTestimony())], { type: 'application/json' }), 'testimony.json');
      for (const f of files) body.append('attachment', f, f.name);
      response = await api(path, { method: 'POST', body });
    } else {
      response = await post(path, formTestimony());
    }
    const r = await response.json();
    $('t-result').textContent = t(draft ? 'draftOk' : 'sealedOk') + ' (' + r.id +
        (r.attachments ? ', ' + r.attachments + ' ' + t('attached') : '') + ')';
    $('t-result').dataset.id = r.id;
    $('t-result').dataset.state = r.state;
    $('t-error').textContent = '';
    if (draft) {
      setEditing(r.id);
    } else {
      $('testimony-form').reset();
      $('t-victims').textContent = '';
      setEditing('');
    }
    await loadOutbox();
    await loadDrafts();
  } catch (e) {
    $('t-error').textContent = e.message;
  }
}

function describeProgress(p) {
  const kb = (n) => Math.round(n / 1024) + ' KiB';
  let text = t('syncing') + ': ' + p.records_done + '/' + p.records_total + ' ' + t('recordsWord') +
      ', ' + kb(p.bytes_done) + '/' + kb(p.bytes_total);
  if (p.bytes_per_second > 0) text += ', ' + kb(p.bytes_per_second) + '/s';
  if (p.seconds_left !== null) text += ', ~' + Math.ceil(p.seconds_left) + ' s ' + t('left');
  return text;
}

// The sync's progress is pushed by the desk (Server-Sent Events, /api/sync/events): the
// page opens the stream, waits for its first event (the state now), then starts the
// sync. Only when the stream cannot be opened does the page poll /api/sync/progress.
function followSync() {
  return new Promise((ready) => {
    const status = $('sync-status');
    status.dataset.events = '0';
    let opened = false;
    let poller = null;
    const stop = () => { source.close(); if (poller) clearInterval(poller); };
    const source = new EventSource('/api/sync/events');
    source.onmessage = (e) => {
      status.dataset.events = String(Number(status.dataset.events) + 1);
      const p = JSON.parse(e.data);
      if (!opened) { opened = true; ready(stop); return; }
      if (p.syncing) status.textContent = describeProgress(p);
    };
    source.addEventListener('end', () => { status.dataset.ended = '1'; stop(); });
    source.onerror = () => {
      source.close();
      if (opened) return;
      opened = true;
      poller = setInterval(async () => {
        try {
          const p = await (await api('/api/sync/progress')).json();
          if (p.syncing) status.textContent = describeProgress(p);
        } catch (err) { /* the sync's own answer says what happened */ }
      }, 500);
      ready(stop);
    };
  });
}

async function syncNow() {
  $('sync').disabled = true;
  $('sync-status').textContent = t('syncing') + '…';
  delete $('sync-status').dataset.done;
  delete $('sync-status').dataset.ended;
  const stop = await followSync();
  try {
    const r = await (await post('/api/sync')).json();
    $('sync-status').textContent = t('synced') + ': ' + r.receipted + ' ' + t('recordsWord') +
        (r.attachment_bytes ? ', ' + Math.round(r.attachment_bytes / 1024) + ' KiB' : '');
    $('sync-status').dataset.done = 'ok';
  } catch (e) {
    $('sync-status').textContent = e.message;
    $('sync-status').dataset.done = 'error';
  } finally {
    // The stream ends by itself after the sync's last event; this covers a failed start.
    setTimeout(stop, 2000);
    $('sync').disabled = false;
    await loadOutbox();
  }
}

async function loadOutbox() {
  const o = await (await api('/api/outbox')).json();
  state.role = o.role;
  $('outbox').textContent = t('outboxLabel') + ' (' + o.project + '): ' +
      ['draft', 'sealed', 'committed', 'received']
        .map((s) => o.records[s] + ' ' + t('state' + s[0].toUpperCase() + s.slice(1))).join(' · ');
  for (const [key, count] of Object.entries(o.records)) $('outbox').dataset[key] = String(count);
}

function translatePage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const select of document.querySelectorAll('select[data-vocab]')) fillSelect(select);
  for (const box of document.querySelectorAll('[data-checks]')) fillChecks(box);
  // The victims' rows are built by the page: rebuilt in the new language, values kept.
  const victims = formVictims();
  $('t-victims').textContent = '';
  for (const v of victims) addVictimRow(v);
}

function fillSelect(select) {
  const chosen = select.value;
  select.textContent = '';
  const any = document.createElement('option');
  any.value = '';
  any.textContent = t('any');
  select.append(any);
  for (const term of (state.vocab && state.vocab[select.dataset.vocab]) || []) {
    const option = document.createElement('option');
    option.value = term.code;
    option.textContent = state.lang === 'fr' ? term.labelFr : term.labelEn;
    select.append(option);
  }
  select.value = chosen;
}

function filterQuery() {
  const params = new URLSearchParams();
  for (const el of $('filters').elements) {
    if (el.name && el.value.trim() !== '') params.set(el.name, el.value.trim());
  }
  return params.toString();
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
  return td;
}

function recordsUrl(query, offset) {
  const params = new URLSearchParams(query);
  params.set('offset', String(offset));
  params.set('limit', String(pageSize()));
  return '/api/records?' + params.toString();
}

function appendRows(records) {
  const rows = $('record-rows');
  for (const r of records) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'record-row';
    tr.setAttribute('data-testid', 'record-row');
    tr.dataset.id = r.id;
    tr.tabIndex = 0;
    if (!r.verified) tr.className = 'unverified';
    cell(tr, r.date || '—');
    cell(tr, label('regions', r.region));
    cell(tr, r.locality);
    cell(tr, r.acts.map((a) => label('acts', a)).join(', '));
    cell(tr, String(r.victims));
    cell(tr, r.verified ? t('verified') : t('unverified'));
    const open = () => { location.hash = '#/record/' + r.id; };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    rows.append(tr);
  }
}

// The "more" button and the "n shown" note, after each page.
function showPaging(data) {
  state.nextOffset = data.next_offset;
  const shown = $('record-rows').children.length;
  $('more-records').hidden = data.next_offset === null || data.next_offset === undefined;
  $('records-shown').textContent = shown < data.count ? '(' + shown + ' ' + t('shown') + ')' : '';
}

// The first page of the records matching the filter; the count is of all that match.
async function loadRecords() {
  const query = filterQuery();
  const seq = ++state.seq;
  const data = await (await api(recordsUrl(query, 0))).json();
  if (seq !== state.seq) return;  // a newer search has been sent
  state.query = query;
  const suffix = query ? '?' + query : '';
  $('export-csv').href = '/api/export.csv' + suffix;
  $('export-json').href = '/api/export.json' + suffix;
  $('record-rows').textContent = '';
  appendRows(data.records);
  $('record-count').textContent = String(data.count);
  showPaging(data);
  const warnings = [];
  if (data.unverified > 0) warnings.push(data.unverified + ' ' + t('unverified'));
  if (data.failures > 0) warnings.push(data.failures + ' ' + t('failed'));
  $('warnings').textContent = warnings.join(' · ');
}

// The next page, appended; focus moves to its first row so that a keyboard user reads on.
async function loadMoreRecords() {
  if (state.nextOffset === null || state.nextOffset === undefined) return;
  const seq = state.seq;
  const first = $('record-rows').children.length;
  const data = await (await api(recordsUrl(state.query, state.nextOffset))).json();
  if (seq !== state.seq) return;  // the filter changed meanwhile
  appendRows(data.records);
  $('record-count').textContent = String(data.count);
  showPaging(data);
  const row = $('record-rows').children[first];
  if (row) row.focus();
}

function field(list, name, value) {
  if (value === undefined || value === null || value === '' || value === 0) return;
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
  list.append(dt, dd);
}

async function loadRecord(id) {
  const r = await (await api('/api/records/' + encodeURIComponent(id))).json();
  const x = r.testimony;
  $('record-title').textContent = (x.incident.date || '—') + ' · ' +
      label('regions', x.incident.region) + ' · ' + x.incident.locality;
  $('record-warning').textContent = r.verified ? '' : t('unverified') + ': ' + r.unverified_reason;
  const dl = $('record-fields');
  dl.textContent = '';
  field(dl, 'ID', r.record_id);
  field(dl, t('project'), r.project);
  field(dl, t('device'), r.device_id + ' #' + r.device_seq);
  field(dl, t('received'), r.received_at);
  field(dl, t('incident'), [x.incident.date, x.incident.end_date].filter(Boolean).join(' → '));
  field(dl, t('region'), label('regions', x.incident.region));
  field(dl, t('locality'), x.incident.locality);
  if (x.incident.precision_m) {
    field(dl, 'GPS', x.incident.latitude + ', ' + x.incident.longitude + ' (±' + x.incident.precision_m + ' m)');
  }
  field(dl, t('acts'), x.acts.map((a) => label('acts', a.type) + (a.count ? ' × ' + a.count : '')).join(', '));
  field(dl, t('perpetrators'), x.perpetrators.map((p) => label('perpetrators', p)).join(', '));
  for (const v of x.victims) {
    field(dl, t('victims'), [v.name, label('sexes', v.sex), v.age || '', label('ageGroups', v.age_group), v.community]
        .filter(Boolean).join(' · '));
  }
  const c = x.victim_counts;
  if (c.total) {
    field(dl, t('victimGroup'), c.total + ' (' + ['women', 'men', 'girls', 'boys', 'unknown']
        .map((k) => t(k) + ' ' + c[k]).join(', ') + ')');
  }
  field(dl, t('sourceLabel'), label('sourceTypes', x.source.type) + (x.source.anonymous ? ' (anonymous)' : ''));
  field(dl, t('consent'), Object.entries(x.consent).filter(([, v]) => v).map(([k]) => k).join(', '));
  field(dl, t('sensitivity'), x.sensitivity);
  field(dl, 'Language', x.language);
  if (x.amends) {
    const link = document.createElement('a');
    link.href = '#/record/' + x.amends;
    link.textContent = x.amends;
    field(dl, t('amends'), link);
  }
  $('record-narrative').textContent = x.narrative;
  const box = $('record-attachments');
  box.textContent = x.attachments.length ? '' : t('none');
  x.attachments.forEach((a, index) => {
    const url = '/api/records/' + r.record_id + '/attachments/' + index;
    const p = document.createElement('p');
    const link = document.createElement('a');
    link.href = url;
    link.textContent = a.file_name + ' (' + a.media_type + ', ' + a.size + ' B)';
    link.setAttribute('download', a.file_name);
    p.append(link);
    if (a.media_type.startsWith('image/')) {
      const img = document.createElement('img');
      img.src = url;
      img.alt = a.file_name;
      p.append(img);
    } else if (a.media_type.startsWith('audio/') || a.media_type.startsWith('video/')) {
      const media = document.createElement(a.media_type.startsWith('audio/') ? 'audio' : 'video');
      media.controls = true;
      media.src = url;
      p.append(media);
    }
    box.append(p);
  });
}

const SVG = 'http://www.w3.org/2000/svg';

function barChart(title, rows) {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  const h = document.createElement('h3');
  h.textContent = title;
  figure.append(h);
  const max = Math.max(1, ...rows.map((r) => r.count));
  const barHeight = 18, labelWidth = 170, width = 420;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', rows.length * (barHeight + 4) + 4);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  rows.forEach((r, i) => {
    const y = i * (barHeight + 4) + 2;
    const name = document.createElementNS(SVG, 'text');
    name.setAttribute('x', 0);
    name.setAttribute('y', y + 13);
    name.textContent = r.label.length > 26 ? r.label.slice(0, 25) + '…' : r.label;
    const bar = document.createElementNS(SVG, 'rect');
    bar.setAttribute('x', labelWidth);
    bar.setAttribute('y', y);
    bar.setAttribute('height', barHeight);
    bar.setAttribute('width', Math.max(1, (width - labelWidth - 40) * r.count / max));
    const value = document.createElementNS(SVG, 'text');
    value.setAttribute('x', labelWidth + (width - labelWidth - 40) * r.count / max + 4);
    value.setAttribute('y', y + 13);
    value.textContent = String(r.count);
    svg.append(name, bar, value);
  });
  figure.append(svg);
  return figure;
}

async function loadStats() {
  let query = filterQuery();
  if ($('raw').checked) query += (query ? '&' : '') + 'raw=1';
  const s = await (await api('/api/stats' + (query ? '?' + query : ''))).json();
  const groups = [
    ['quarter', t('quarter'), s.quarters, (k) => k],
    ['act', t('acts'), s.acts, (k) => label('acts', k)],
    ['region', t('region'), s.regions, (k) => label('regions', k)],
    ['perpetrator', t('perpetrators'), s.perpetrators, (k) => label('perpetrators', k)],
    ['victim_group', t('victimGroup'), s.victim_groups, (k) => t(k)],
  ];
  const body = $('stats-rows');
  body.textContent = '';
  const charts = $('charts');
  charts.textContent = '';
  for (const [group, title, rows, name] of groups) {
    for (const r of rows) {
      const tr = document.createElement('tr');
      tr.dataset.group = group;
      tr.dataset.key = r.key;
      cell(tr, title);
      cell(tr, name(r.key));
      cell(tr, String(r.count)).className = 'count';
      const change = r.change_percent;
      cell(tr, change === undefined || change === null ? '' :
          (change > 0 ? '+' : '') + change.toFixed(2) + ' %').className = 'change';
      body.append(tr);
    }
    if (rows.length) charts.append(barChart(title, rows.map((r) => ({ label: name(r.key), count: r.count }))));
  }
  // What the printed page says about itself: when, and which records.
  const filter = filterQuery();
  $('print-heading').textContent = tf('printedOn', { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC' }) +
      ' · ' + t('filterLabel') + ': ' + (filter ? decodeURIComponent(filter.replace(/\+/g, ' ')).replace(/&/g, ', ') : t('noFilter')) +
      ($('raw').checked ? ' · ' + t('rawNote') : '');
  const share = s.child_victim_share_percent;
  // Tests wait for this to change rather than for time to pass.
  $('stats-table').dataset.version = String(Number($('stats-table').dataset.version || 0) + 1);
  $('stats-summary').textContent = s.records + ' ' + t('recordsLabel') + ' · ' + t('childShare') + ': ' +
      s.records_with_child_victims + (share === null ? '' : ' (' + share.toFixed(1) + ' %)');
}

// `temoin review gaps` (FindGaps) on the page: one row per device, its missing ranges.
async function loadGaps() {
  const data = await (await api('/api/gaps')).json();
  const rows = $('gap-rows');
  rows.textContent = '';
  for (const d of data.devices) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-testid', 'gap-row');
    tr.dataset.device = d.device_id;
    cell(tr, d.device_id);
    cell(tr, d.project);
    cell(tr, String(d.received));
    cell(tr, String(d.highest));
    const missing = d.missing.map(([low, high]) => (low === high ? String(low) : low + '–' + high));
    cell(tr, missing.join(', ') || t('none')).className = 'missing';
    rows.append(tr);
  }
  const gapped = data.devices.filter((d) => d.missing.length > 0).length;
  $('gaps-summary').textContent = gapped === 0 ? t('noGaps') : '';
  $('gaps-warning').textContent =
    data.unverified_left_out > 0 ? data.unverified_left_out + ' ' + t('unverified') : '';
}

async function loadDuplicates() {
  const query = filterQuery();
  const data = await (await api('/api/duplicates' + (query ? '?' + query : ''))).json();
  const box = $('duplicate-groups');
  box.textContent = '';
  if (!data.groups.length) box.textContent = t('noDuplicates');
  data.groups.forEach((g, n) => {
    const section = document.createElement('section');
    section.setAttribute('data-testid', 'duplicate-group');
    section.className = 'duplicate-group';
    section.dataset.ids = g.records.map((r) => r.id).join(',');
    const h = document.createElement('h3');
    h.textContent = t('group') + ' ' + (n + 1) + ' (' + g.records.length + ')';
    section.append(h);
    const list = document.createElement('ul');
    for (const r of g.records) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '#/record/' + r.id;
      a.textContent = [r.date, label('regions', r.region), r.locality,
        r.acts.map((x) => label('acts', x)).join(', ')].join(' · ');
      li.append(a);
      list.append(li);
    }
    section.append(list);
    const why = document.createElement('ul');
    why.className = 'reasons';
    for (const link of g.links) {
      const li = document.createElement('li');
      li.textContent = link.a.slice(0, 8) + ' ↔ ' + link.b.slice(0, 8) + ': ' + link.reason;
      why.append(li);
    }
    section.append(why);
    const status = document.createElement('p');
    status.className = 'decision';
    status.dataset.decision = g.decision;
    status.textContent = t({ confirmed: 'confirmed', split: 'splitDone' }[g.decision] || 'undecided');
    section.append(status);
    for (const [decision, key] of [['confirmed', 'confirm'], ['split', 'split'], ['undecided', 'undecide']]) {
      if (decision === g.decision) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.decide = decision;
      button.textContent = t(key);
      button.addEventListener('click', async () => {
        await post('/api/duplicates/decision' + (query ? '?' + query : ''), { group: g.key, decision });
        await loadDuplicates();
      });
      section.append(button, ' ');
    }
    box.append(section);
  });
}

// Monitors record; reviewers read. Each sees its own pages (the server decides what
// either may do: a monitor's vault holds no record to read, a reviewer's seal refused).
async function learnRole() {
  if (state.role) return;
  await loadOutbox();
  for (const el of document.querySelectorAll('.monitor-only')) el.hidden = state.role !== 'monitor';
  for (const el of document.querySelectorAll('.reviewer-only')) el.hidden = state.role !== 'reviewer';
  for (const el of document.querySelectorAll('.admin-only')) el.hidden = state.role !== 'admin';
}

// The admin's pages. Each call is the client/sync function of the matching `temoin`
// command (devices, invite, grant, ungrant, revoke, audit --verify).
const roleLabel = (role) => t({ monitor: 'monitor', reviewer: 'reviewerRole', admin: 'adminRole' }[role] || role);

async function loadDevices() {
  const data = await (await api('/api/devices')).json();
  const rows = $('device-rows');
  rows.textContent = '';
  const reviewers = $('g-reviewer');
  const chosen = reviewers.value;
  reviewers.textContent = '';
  for (const d of data.devices) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-testid', 'device-row');
    tr.dataset.id = d.id;
    tr.dataset.state = d.state;
    tr.dataset.role = d.role;
    if (d.state === 'revoked') tr.className = 'revoked';
    cell(tr, d.id + (d.id === data.self ? ' ' + t('thisDevice') : '')).className = 'id';
    cell(tr, roleLabel(d.role));
    cell(tr, d.project);
    cell(tr, d.enrolled_at || '');
    cell(tr, t(d.state));
    const actions = cell(tr, '');
    if (d.state === 'active' && d.id !== data.self) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = t('revoke');
      button.setAttribute('data-testid', 'revoke');
      button.addEventListener('click', () => askRevoke(d, button));
      actions.append(button);
    }
    rows.append(tr);
    if (d.role === 'reviewer' && d.state === 'active') {
      const option = document.createElement('option');
      option.value = d.id;
      option.textContent = d.id + (d.project ? ' (' + d.project + ')' : '');
      reviewers.append(option);
    }
  }
  if (chosen) reviewers.value = chosen;
  $('device-rows').dataset.loaded = String(Number($('device-rows').dataset.loaded || 0) + 1);
}

// Revoking cannot be undone: the page asks first, naming the device and what follows,
// and the API wants the id twice.
function askRevoke(device, opener) {
  const box = $('revoke-confirm');
  $('revoke-question').textContent = tf('revokeQuestion',
      { id: device.id, role: roleLabel(device.role), project: device.project ? ', ' + device.project : '' });
  box.hidden = false;
  const close = () => {
    box.hidden = true;
    $('revoke-yes').onclick = null;
    $('revoke-no').onclick = null;
    box.onkeydown = null;
    opener.focus();
  };
  $('revoke-no').onclick = close;
  box.onkeydown = (e) => { if (e.key === 'Escape') close(); };
  $('revoke-yes').onclick = async () => {
    close();
    await adminAction(async () => {
      const r = await (await post('/api/revoke', { device: device.id, confirm: device.id })).json();
      return tf('revokedOk', { id: r.revoked }) + (r.rotated.length ? ' ' + t('rotatedKeys') + ': ' + r.rotated.join(', ') : '');
    });
  };
  $('revoke-no').focus();
}

async function adminAction(act) {
  const status = $('admin-status');
  status.textContent = '…';
  delete status.dataset.done;
  try {
    status.textContent = await act();
    status.className = '';
    status.dataset.done = 'ok';
  } catch (e) {
    status.textContent = e.message;
    status.className = 'error';
    status.dataset.done = 'error';
  }
  await loadDevices();
}

async function grantAccess(grant) {
  const project = $('g-project').value.trim(), reviewer = $('g-reviewer').value;
  await adminAction(async () => {
    if (grant) {
      await post('/api/grants', { project, reviewer });
      return tf('grantedOk', { project, id: reviewer });
    }
    const r = await (await post('/api/ungrant', { project, reviewer })).json();
    return tf('ungrantedOk', { project, id: reviewer, epoch: r.epoch });
  });
}

function forgetInvite() {
  const img = $('invite-qr');
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.removeAttribute('src');
  $('invite-code').textContent = '';
  $('invite-result').hidden = true;
}

async function issueInvite() {
  forgetInvite();
  $('invite-error').textContent = '';
  try {
    const r = await (await post('/api/invites', {
      role: $('i-role').value, project: $('i-project').value.trim(), ttl_hours: Number($('i-ttl').value),
    })).json();
    // base64url PNG -> a blob: URL (the page's policy allows no data: image).
    const b64 = r.qr_png_base64url.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
    const img = $('invite-qr');
    img.alt = t('qrAlt');
    img.width = r.qr_side_px;
    img.height = r.qr_side_px;
    img.src = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
    $('invite-code').textContent = r.code;
    $('invite-result').hidden = false;
  } catch (e) {
    $('invite-error').textContent = e.message;
  }
}

async function loadAudit() {
  $('audit-status').textContent = '…';
  delete $('audit-status').dataset.verified;
  const a = await (await api('/api/audit')).json();
  const rows = $('audit-rows');
  rows.textContent = '';
  for (const e of a.entries) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-testid', 'audit-row');
    cell(tr, String(e.index));
    cell(tr, e.time);
    cell(tr, e.actor).className = 'id';
    cell(tr, e.action);
    cell(tr, e.object).className = 'id';
    cell(tr, e.project);
    rows.append(tr);
  }
  $('audit-status').textContent = a.verified ? tf('auditOk', { n: a.entries.length }) : tf('auditBad', { problem: a.problem });
  $('audit-status').className = a.verified ? 'verified' : 'error';
  $('audit-status').dataset.verified = String(a.verified);
}

async function route() {
  try {
    await learnRole();
  } catch (e) {
    return;  // locked: the unlock form is showing
  }
  const home = { monitor: '#/new', admin: '#/devices' }[state.role] || '#/records';
  const hash = location.hash || home;
  if (hash !== '#/invite') forgetInvite();
  try {
    if (hash === '#/devices') {
      show('devices-view');
      await loadDevices();
    } else if (hash === '#/invite') {
      show('invite-view');
    } else if (hash === '#/audit') {
      show('audit-view');
      await loadAudit();
    } else if (state.role === 'admin') {
      location.hash = home;
    } else if (hash.startsWith('#/record/')) {
      show('record-view');
      await loadRecord(hash.slice('#/record/'.length));
    } else if (hash === '#/new') {
      show('new-view');
      await loadOutbox();
      await loadDrafts();
    } else if (hash === '#/gaps') {
      show('gaps-view');
      await loadGaps();
    } else if (hash === '#/duplicates') {
      show('duplicates-view');
      await loadDuplicates();
    } else if (hash === '#/stats') {
      show('stats-view');
      await loadStats();
    } else {
      show('records-view');
      await loadRecords();
    }
  } catch (e) {
    if (e.message !== 'locked') {
      $('warnings').textContent = e.message;
      if (state.role === 'admin') $(hash === '#/audit' ? 'audit-status' : 'admin-status').textContent = e.message;
    }
  }
}

async function start() {
  state.lang = (navigator.language || 'en').startsWith('fr') ? 'fr' : 'en';
  $('lang').value = state.lang;
  state.vocab = await (await fetch('/api/vocabulary')).json();
  translatePage();
  $('lang').addEventListener('change', () => { state.lang = $('lang').value; translatePage(); route(); });
  $('unlock-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('passphrase');
    const passphrase = input.value;
    input.value = '';
    $('unlock').disabled = true;
    try {
      await post('/api/unlock', { passphrase });
      $('unlock-error').textContent = '';
      await route();
    } catch (err) {
      $('unlock-error').textContent = err.message === 'wrong passphrase' ? t('wrong') : err.message;
    } finally {
      $('unlock').disabled = false;
    }
  });
  $('filters').addEventListener('input', () => route());
  $('raw').addEventListener('change', () => route());
  $('print').addEventListener('click', () => window.print());
  // Validated as it is typed, by the rules `temoin record` applies (the server's check).
  $('testimony-form').addEventListener('input', () => checkTestimony());
  $('testimony-form').addEventListener('change', () => checkTestimony());
  $('testimony-form').addEventListener('submit', (e) => { e.preventDefault(); saveTestimony(false); });
  $('t-draft').addEventListener('click', () => saveTestimony(true));
  $('t-add-victim').addEventListener('click', () => {
    addVictimRow().querySelector('input').focus();
  });
  $('new-blank').addEventListener('click', () => startBlank());
  $('sync').addEventListener('click', () => syncNow());
  $('grant-form').addEventListener('submit', (e) => { e.preventDefault(); grantAccess(true); });
  $('ungrant').addEventListener('click', () => grantAccess(false));
  $('invite-form').addEventListener('submit', (e) => { e.preventDefault(); issueInvite(); });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('lock').addEventListener('click', async () => {
    await post('/api/lock');
    forgetInvite();
    state.role = '';
    showUnlock(t('locked'));
  });
  $('close').addEventListener('click', async () => {
    await post('/api/close');
    document.body.textContent = 'Closed.';
  });
  $('more-records').addEventListener('click', () => loadMoreRecords().catch((err) => {
    $('warnings').textContent = err.message;
  }));
  $('pull').addEventListener('click', async () => {
    $('pull-status').textContent = '…';
    try {
      const r = await (await post('/api/pull')).json();
      $('pull-status').textContent = r.fetched + ' ' + t('fetched');
      await loadRecords();
    } catch (err) {
      $('pull-status').textContent = err.message;
    }
  });
  window.addEventListener('hashchange', route);
  const s = await (await fetch('/api/state')).json();
  if (s.unlocked) await route(); else showUnlock('');
}

start();

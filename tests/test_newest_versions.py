"""The newest version of each process is read once per transaction (deployment.newest_versions), and
never kept past what changes it: a deployment in the transaction, or a savepoint rolled back over one."""
from workflows.definitions import deployment
from workflows.definitions.pack import active_pack
from workflows.platform import db as database


def _review_renamed(pack) -> bytes:
    content = (pack.directory / "derby_review.bpmn").read_bytes()
    return content.replace(b'name="Review the marker"', b'name="Review the marker again"', 1)


def test_a_version_deployed_in_the_transaction_is_the_newest_at_once_and_not_once_rolled_back(derby):
    pack = active_pack()
    with database.transaction() as db:
        first = deployment.latest(db, pack=pack.key, process_id="derby_review")
        savepoint = db.begin_nested()
        deployment.deploy_file(db, pack=pack, content=_review_renamed(pack), filename="derby_review.bpmn",
                               deployed_by="hugo")
        assert deployment.latest(db, pack=pack.key, process_id="derby_review").version == first.version + 1
        savepoint.rollback()
        assert deployment.latest(db, pack=pack.key, process_id="derby_review").id == first.id
    with database.transaction() as db:
        deployment.deploy_file(db, pack=pack, content=_review_renamed(pack), filename="derby_review.bpmn",
                               deployed_by="hugo")
    with database.transaction() as db:  # committed by another transaction: seen by the next one
        assert deployment.latest(db, pack=pack.key, process_id="derby_review").version == first.version + 1

